"""Latency repeatability: measure the same sub-networks several times in one run.

Target (issue #3): the medians of repeated measurements of one sub-network agree within 5 %.
Each round is a full ``measure_latency`` call (fresh ONNX export and session). A control row per
sub-network re-times one ONNX Runtime session, built once, in the same rounds: its spread is the
machine's own drift, which no measurement method can remove.
Prints a table and writes benchmarks/results/latency/latency_repeatability.json (docs/benchmarks/latency.md).

    .venv/bin/python benchmarks/measure/latency_repeatability.py [--rounds 5] [--repeats 50]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from tailor.lab.meta import write_result
from tailor.measure import measure_latency
from tailor.measure.latency import time_calls
from tailor.measure.machine import machine_info
from tailor.measure.onnx_io import export_onnx, ort_feed, ort_session
from tailor.supernets import create_supernet

OUT = Path(__file__).resolve().parents[1] / "results" / "latency" / "latency_repeatability.json"
CASES = {
    "mobilenetv3": dict(num_classes=10, in_channels=3, width_mult=1.0, resolutions=(128,)),
    "resnet": dict(num_classes=10, in_channels=3, resolutions=(128,),
                   stage_channels=(64, 128, 256, 512)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for family, kwargs in CASES.items():
        net = create_supernet(family, **kwargs).eval()
        space = net.space()
        for which in ("min", "max"):
            cfg = space.extreme(which)
            model, x = net.subnet(cfg).eval(), net.example_input(1, cfg)
            session = ort_session(export_onnx(model, (x,)), args.threads)
            feed = ort_feed(session, (x,), None)
            medians = {"onnxruntime": [], "torch": [], "one session": []}
            for _ in range(args.rounds):  # the three interleaved, so drift hits them alike
                for backend in ("onnxruntime", "torch"):
                    medians[backend].append(measure_latency(model, x, backend, args.threads, args.warmup,
                                                            args.repeats).median_ms)
                samples = time_calls(lambda s=session, f=feed: s.run(None, f), args.warmup, args.repeats)
                medians["one session"].append(float(np.median(samples)))
            for backend, ms in medians.items():
                lo, hi = min(ms), max(ms)
                rows.append({"family": family, "config": which, "backend": backend,
                             "medians_ms": ms, "max_rel_dev": (hi - lo) / lo,
                             "within_5pct": (hi - lo) / lo <= 0.05})
    print(f"{'family':12} {'cfg':4} {'backend':12} {'median ms (rounds)':40} {'spread':>7}  ok")
    for r in rows:
        ms = " ".join(f"{m:.2f}" for m in r["medians_ms"])
        print(f"{r['family']:12} {r['config']:4} {r['backend']:12} {ms:40} "
              f"{100 * r['max_rel_dev']:6.1f}%  {'yes' if r['within_5pct'] else 'NO'}")
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    out = write_result(args.json, {"settings": settings, "machine": machine_info(), "rows": rows}, indent=2)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
