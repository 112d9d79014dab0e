"""Per-call cost of the sparse modules on small 1x1 layers: dense ``conv2d``, ``SparseConv2d``
(forced sparse) and the bare kernel call on the same input, timed in turns (random order each
round), fastest and median per contender. The module minus the kernel is the fixed cost a layer
pays on every call, which decides whether small layers can win at all.

Run:  PYTHONPATH=src .venv/bin/python benchmarks/sparse/call_overhead.py
Writes benchmarks/results/sparse/call_overhead.json.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tailor.lab.meta import write_result
from tailor.sparse import SparseConv2d, spmm

SHAPES = [(24, 96, 4), (48, 16, 8), (96, 24, 16), (240, 40, 14)]  # (C_out, C_in, H=W): digits-sized


CONTENDERS = ("dense_conv2d", "module", "kernel")


def measure(cout: int, cin: int, hw: int, args: argparse.Namespace, rng: np.random.Generator) -> dict:
    torch.manual_seed(0)
    conv = nn.Conv2d(cin, cout, 1, bias=True)
    keep = (torch.rand(cout // 4, cin) >= args.sparsity).repeat_interleave(4, 0).float()
    with torch.no_grad():
        conv.weight.mul_(keep[:, :, None, None])
    module = SparseConv2d(conv, 4, "sparse")
    x = torch.randn(1, cin, hw, hw)
    x3 = x.reshape(1, cin, hw * hw).numpy()
    out = np.empty((1, module.packed.out_padded, hw * hw), np.float32)
    calls = dict(zip(CONTENDERS, (lambda: F.conv2d(x, conv.weight, conv.bias), lambda: module(x),
                                  lambda: spmm(module.packed, x3, out)), strict=True))
    samples: dict[str, list[float]] = {k: [] for k in calls}
    with torch.no_grad():
        for f in calls.values():
            f(), f()
        for _ in range(args.rounds):
            for k in rng.permutation(list(calls)):
                t0 = time.perf_counter()
                for _ in range(args.calls):
                    calls[k]()
                samples[k].append((time.perf_counter() - t0) / args.calls * 1e6)
    row = {"shape": [cout, cin, hw * hw], **{f"{k}_min_us": float(np.min(v)) for k, v in samples.items()},
           **{f"{k}_median_us": float(np.median(v)) for k, v in samples.items()}}
    row["fixed_cost_us"] = row["module_min_us"] - row["kernel_min_us"]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--calls", type=int, default=20, help="calls per timed sample")
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--out", default="benchmarks/results/sparse/call_overhead.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    rows = []
    for cout, cin, hw in SHAPES:
        row = measure(cout, cin, hw, args, rng)
        rows.append(row)
        print(f"{cout}x{cin}x{hw}^2: " + "  ".join(f"{k} {row[k + '_min_us']:.1f} us" for k in CONTENDERS)
              + f"  (module - kernel {row['fixed_cost_us']:.1f} us)", flush=True)
    path = write_result(args.out, {"settings": vars(args), "rows": rows, "load_avg": list(os.getloadavg())})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
