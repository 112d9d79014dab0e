"""Paired step times of AdamW, GaLore and Fira on the benchmark model, steps interleaved.

The training runs time each method in its own process, minutes apart, on a machine other jobs
share; their medians move with the load. Here the methods take turns, one training step each
(forward, backward, clip, ``optimizer.step()``) on their own copy of the same model and the same
batch, for ``--rounds`` rounds, so drifting load hits them alike. Reported per rank: the median
whole step and the median ``optimizer.step()`` of each method, and Fira over GaLore. The SVD
refresh every ``--update-proj-gap`` steps is included (the medians are taken over all steps).

Run:  OMP_NUM_THREADS=1 PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/lowrank/step_time.py
Writes benchmarks/results/lowrank/step_time.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import torch
from common import RESULTS, run_metadata
from data import build_corpus, random_windows
from model import LlamaConfig, TinyLlama
from torch.nn import functional as F

from tailor.optim import build_optimizer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", default="4,16,64")
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--update-proj-gap", type=int, default=50)
    p.add_argument("--out", default=str(RESULTS / "step_time.json"))
    args = p.parse_args()
    torch.set_num_threads(1)
    import numpy as np

    corpus = build_corpus()
    torch.manual_seed(0)
    base = TinyLlama(LlamaConfig(max_seq=args.seq_len))
    rows = {}
    for rank in (int(r) for r in args.ranks.split(",")):
        contenders = {}
        for name in ("adamw", "galore", "fira"):
            model = copy.deepcopy(base)
            opts = {} if name == "adamw" else {"update_proj_gap": args.update_proj_gap}
            contenders[name] = (model, build_optimizer(name, model, lr=1e-3, rank=rank, **opts))
        times = {name: {"step": [], "optimizer": []} for name in contenders}
        rng = np.random.default_rng(0)
        for i in range(args.rounds):
            batch = random_windows(corpus.train, args.batch_size, args.seq_len, rng)
            order = list(contenders) if i % 2 == 0 else list(reversed(contenders))
            for name in order:
                model, opt = contenders[name]
                t0 = time.perf_counter()
                loss = F.cross_entropy(model(batch[:, :-1]).flatten(0, 1), batch[:, 1:].flatten())
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                t1 = time.perf_counter()
                opt.step()
                t2 = time.perf_counter()
                times[name]["step"].append(t2 - t0)
                times[name]["optimizer"].append(t2 - t1)
        med = {name: {k: statistics.median(v) for k, v in t.items()} for name, t in times.items()}
        rows[rank] = {
            "median_s": med,
            "mean_optimizer_s": {name: statistics.fmean(t["optimizer"]) for name, t in times.items()},
            "fira_over_galore_step": med["fira"]["step"] / med["galore"]["step"],
            "fira_over_galore_optimizer": med["fira"]["optimizer"] / med["galore"]["optimizer"],
        }
        print(f"r={rank:>3}  step ms: adamw {1000 * med['adamw']['step']:.0f}"
              f"  galore {1000 * med['galore']['step']:.0f}"
              f"  fira {1000 * med['fira']['step']:.0f} ({100 * (rows[rank]['fira_over_galore_step'] - 1):+.1f} %)"
              f"   optimizer.step ms: adamw {1000 * med['adamw']['optimizer']:.1f}  galore "
              f"{1000 * med['galore']['optimizer']:.1f}  fira {1000 * med['fira']['optimizer']:.1f} "
              f"({100 * (rows[rank]['fira_over_galore_optimizer'] - 1):+.1f} %)", flush=True)
    with open(args.out, "w") as f:
        json.dump({"meta": run_metadata(), "settings": vars(args), "ranks": rows}, f, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
