"""How reproducible is the latency objective of the MobileNetV3 peer problem on this machine?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/peers/mbv3_latency_noise.py

Measures the same random sub-networks of the peer benchmark's super-network in several rounds,
each round one fresh measurement per sub-network (export, new ONNX Runtime session, warm-up,
timed calls, as ``LatencyEvaluator`` does, without its cache), with the evaluator's 30 calls and
with 10x more. The Kendall tau between two rounds is the most any search, or any predictor, can
agree with the latency ranking on this machine; the tau with MACs shows how much of the ranking
is the architecture. Writes ``benchmarks/results/peers/mbv3_latency_noise.json`` and prints a table
(docs/benchmarks/peers.md).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
from rich.progress import track
from scipy.stats import kendalltau

from tailor.lab.meta import write_result
from tailor.lab.peers.mbv3 import mbv3_problem

ROOT = Path(__file__).resolve().parents[2]
PROTOCOLS = {"evaluator (30 calls)": 30, "10x calls (300)": 300}


def main() -> None:
    import torch

    from tailor.measure.accuracy import track_batchnorm_stats
    from tailor.measure.count import count_macs
    from tailor.measure.latency import measure_latency

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subnets", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=10, help="the peer benchmark's super-network (tailor search's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "peers" / "mbv3_latency_noise.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    problem = mbv3_problem(ROOT / "runs" / "peers" / "mobilenetv3-digits", args.epochs)
    net, space = problem.supernet, problem.space
    configs = [space.from_genes(g) for g in space.sample_genes(np.random.default_rng(args.seed), args.subnets)]
    models = [track_batchnorm_stats(net.subnet(c)) for c in configs]
    inputs = [net.example_input(1, c) for c in configs]
    macs = np.array([count_macs(m, (x,)) for m, x in zip(models, inputs, strict=True)], dtype=float)
    latency = {p: np.zeros((args.rounds, len(configs))) for p in PROTOCOLS}
    for r in range(args.rounds):
        for i in track(range(len(configs)), description=f"round {r + 1}/{args.rounds}"):
            for p, repeats in PROTOCOLS.items():  # side by side: both protocols see the same moment
                latency[p][r, i] = measure_latency(models[i], (inputs[i],), "onnxruntime", 1, 10, repeats).median_ms
    rows = {}
    for p, lat in latency.items():
        pairs = [kendalltau(lat[a], lat[b]).statistic for a, b in itertools.combinations(range(args.rounds), 2)]
        rows[p] = {
            "tau_between_rounds": float(np.median(pairs)),
            "tau_between_rounds_all": [float(t) for t in pairs],
            "tau_with_macs": float(np.median([kendalltau(row, macs).statistic for row in lat])),
            "spread_median": float(np.median(lat.max(axis=0) / lat.min(axis=0) - 1)),
            "latency_ms_median": float(np.median(lat)),
            "latency_ms_range": [float(lat.min()), float(lat.max())],
        }
    print(f"{args.subnets} random sub-networks, {args.rounds} rounds; MMACs "
          f"{macs.min() / 1e6:.2f}..{macs.max() / 1e6:.2f}")
    print(f"{'protocol':>22} {'tau rounds':>11} {'tau MACs':>9} {'spread':>8} {'median ms':>10} {'range ms':>14}")
    for p, row in rows.items():
        lo, hi = row["latency_ms_range"]
        print(f"{p:>22} {row['tau_between_rounds']:>11.3f} {row['tau_with_macs']:>9.3f} "
              f"{100 * row['spread_median']:>7.1f}% {row['latency_ms_median']:>10.3f} {lo:>6.3f}..{hi:.3f}")
    write_result(args.out, {
        "settings": {k: str(v) for k, v in vars(args).items()},
        "macs": macs.tolist(), "latency_ms": {p: v.tolist() for p, v in latency.items()}, "summary": rows,
    })
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
