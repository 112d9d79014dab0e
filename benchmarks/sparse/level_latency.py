"""Paired check of the search's sparsity levels: the same architectures at every level, measured
in random order in one run, so the gain of a level is a ratio, not a difference between studies.

Uses the fine-tuned super-network of ``search_dimension.py`` (same ``--runs`` layout; trains it if
missing). For the smallest, a middle and the largest architecture at each level: top-1 of the
BN-recalibrated sub-network and batch-1, 1-thread latency on the sparse runtime (``--rounds``
measurements each, in shuffled order; medians).

Run:  PYTHONPATH=src .venv/bin/python benchmarks/sparse/level_latency.py
Writes benchmarks/results/sparse/level_latency.json.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch

from tailor.lab.meta import write_result
from tailor.measure.accuracy import AccuracyEvaluator
from tailor.measure.evaluators import LatencyEvaluator
from tailor.sparse.finetune import masked_finetune, sparse_train_spec
from tailor.train import TrainSpec, fit_to_input, train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levels", default="0,0.8,0.9")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--sparse-epochs", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", default="runs/sparse_search/w1-r32-e12")
    ap.add_argument("--out", default="benchmarks/results/sparse/level_latency.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    levels = [float(v) for v in args.levels.split(",")]
    sizes = {"width_mult": 1.0, "resolutions": [32], "final_channels": 128, "head_channels": 128}
    dense_spec = TrainSpec(supernet="mobilenetv3", supernet_kwargs=sizes, data="digits", epochs=args.epochs,
                           sampler="sandwich", seed=0)
    dense = train(dense_spec, Path(args.runs) / "dense", resume=True)
    spec = sparse_train_spec(dense_spec, levels, args.sparse_epochs, per="network")
    net = masked_finetune(spec, dense.supernet.state_dict(),
                          Path(args.runs) / f"sparse-network-e{args.sparse_epochs}-{args.levels.replace(',', '-')}",
                          dense.data).supernet.eval()
    split = dense.data
    shape = tuple(net.example_input(1, net.space().extreme("max")).shape[1:])
    x_val, x_train = fit_to_input(split.x_val, shape), fit_to_input(split.x_train[:512], shape)
    val = list(zip(torch.split(x_val, 256), torch.split(split.y_val, 256), strict=True))
    calib = list(zip(torch.split(x_train, 64), torch.split(split.y_train[:512], 64), strict=True))
    space = net.space()
    small, large = space.extreme("min"), space.extreme("max")
    n_slots = len(large["kernel"])
    archs = {"smallest": small, "middle": {**large, "depth": [3] * 5, "kernel": [5] * n_slots,
                                           "expand": [4] * n_slots}, "largest": large}
    configs = {(a, s): space.validate({**c, "sparsity": s}) for a, c in archs.items() for s in levels}
    acc = AccuracyEvaluator(net, val, calib)
    lat = LatencyEvaluator(net, backend="torch", threads=1, repeats=15, rounds=3, cache=False, runtime="sparse")
    keys = list(configs)
    top1 = dict(zip(keys, (m["accuracy"] for m in acc.evaluate([configs[k] for k in keys])), strict=True))
    times: dict = {k: [] for k in keys}
    rng = np.random.default_rng(0)
    loads = []
    for r in range(args.rounds):
        for i in rng.permutation(len(keys)):
            times[keys[i]].append(lat.evaluate([configs[keys[i]]])[0]["latency_ms"])
        loads.append(os.getloadavg()[0])
        print(f"round {r + 1}/{args.rounds} (load {loads[-1]:.1f})", flush=True)
    rows = []
    for a in archs:
        base = float(np.median(times[(a, 0.0)]))
        for s in levels:
            t = times[(a, s)]
            rows.append({"arch": a, "sparsity": s, "top1": top1[(a, s)], "latency_ms_median": float(np.median(t)),
                         "latency_ms": t, "speedup_vs_dense": base / float(np.median(t))})
            print(f"{a:9s} {s:4.2f}  top-1 {100 * top1[(a, s)]:5.1f} %  {np.median(t):6.2f} ms  "
                  f"x{base / np.median(t):.2f}", flush=True)
    out = write_result(args.out, {"settings": vars(args), "rows": rows, "load_avg_1min": loads})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
