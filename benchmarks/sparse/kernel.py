"""The sparse kernel against dense torch and scipy CSR on MobileNet 1x1 and MiniLM FFN shapes.

For every shape (C_out, C_in, pixels or tokens), sparsity, block size and thread count, four
contenders run on the same input, taking turns sample by sample (``--repeats`` rounds, a sample
being enough calls to last >= ~0.3 ms); speed-ups compare the fastest samples (the uncontended
time on a machine other jobs share), the medians are recorded beside them. Contenders: dense torch (``conv2d`` 1x1 or
``linear``, ``torch.set_num_threads``), ``SparseConv2d``/``SparseLinear`` forced onto the kernel,
the same module with measured dispatch (``auto``: dense where the kernel measured slower), and
scipy CSR (always one thread). Weights are pruned at random per block (the kernel's speed depends
on the non-zero count and block size, not on which weights survive).

Run:  PYTHONPATH=src .venv/bin/python benchmarks/sparse/kernel.py
Writes benchmarks/results/sparse/kernel.{json,csv,png}.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from tailor.lab.meta import write_result
from tailor.sparse import Pruner, SparseConv2d, SparseLinear, backend

RESULTS = Path("benchmarks/results/sparse")
CONV_SHAPES = [(64, 32, 112), (128, 64, 56), (256, 128, 28), (512, 512, 14), (1024, 512, 7)]  # (C_out, C_in, side)
FFN_SHAPES = [(1536, 384, 128), (384, 1536, 128)]  # (out, in, tokens)


def _timer(fn, inner: int):  # noqa: ANN001, ANN202
    def run() -> float:
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        return (time.perf_counter() - t) / inner
    return run


def measure(fns: dict, repeats: int) -> dict[str, dict[str, float]]:
    """Per function: median and minimum seconds per call, the functions timed in turns.

    Each sample is a few calls (>= ~0.3 ms): short enough that another process's time slice
    rarely lands inside it, so the minimum is the uncontended time on a shared machine.
    """
    for f in fns.values():  # warm-up (compile, allocator, dispatch decision)
        f()
        f()
    probe = {k: min(_timer(f, 1)() for _ in range(3)) for k, f in fns.items()}
    timers = {k: _timer(f, max(1, int(0.0003 / max(probe[k], 1e-7)))) for k, f in fns.items()}
    samples: dict[str, list[float]] = {k: [] for k in fns}
    keys = list(fns)
    order = np.random.default_rng(0)
    for _ in range(repeats):  # a new order each round: whoever runs after dense torch finds a colder cache
        for i in order.permutation(len(keys)):
            samples[keys[i]].append(timers[keys[i]]())
    return {k: {"median": float(np.median(v)), "min": float(np.min(v))} for k, v in samples.items()}


def case(kind: str, cout: int, cin: int, n: int, sparsity: float, block: int, threads: int, repeats: int,
         rng: np.random.Generator) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if kind == "conv":
        layer: nn.Module = nn.Conv2d(cin, cout, 1)
        x = torch.randn(1, cin, n, n)
    else:
        layer = nn.Linear(cin, cout)
        x = torch.randn(n, cin)
    Pruner({"w": layer}, block).prune(sparsity, criterion="random", rng=rng)
    cls = SparseConv2d if kind == "conv" else SparseLinear
    forced, auto = cls(layer, block, "sparse"), cls(layer, block, "auto")
    w2 = layer.weight.detach().reshape(cout, cin).numpy()
    csr = sp.csr_matrix(w2)
    bias = layer.bias.detach().numpy()[:, None]
    xc = x.reshape(cin, -1).numpy() if kind == "conv" else np.ascontiguousarray(x.numpy().T)
    with torch.no_grad():
        ref = layer(x)
        assert torch.allclose(forced(x), ref, atol=1e-4, rtol=1e-4)
        fns = {"dense": lambda: layer(x), "sparse": lambda: forced(x), "auto": lambda: auto(x),
               "csr": lambda: csr @ xc + bias}
        t = measure(fns, repeats)
    decision = next(iter(auto.decisions.values()))
    best = {k: v["min"] for k, v in t.items()}
    med = {k: v["median"] for k, v in t.items()}
    return {"kind": kind, "cout": cout, "cin": cin, "pixels": n * n if kind == "conv" else n,
            "sparsity": sparsity, "block": block, "threads": threads,
            **{f"{k}_ms": v * 1e3 for k, v in best.items()},
            **{f"{k}_median_ms": v * 1e3 for k, v in med.items()},
            "speedup_sparse": best["dense"] / best["sparse"], "speedup_auto": best["dense"] / best["auto"],
            "speedup_csr": best["dense"] / best["csr"],
            "speedup_sparse_median": med["dense"] / med["sparse"], "speedup_auto_median": med["dense"] / med["auto"],
            "auto_chose_sparse": bool(decision["sparse"])}


def check_targets(rows: list[dict]) -> dict:
    """The issue's targets, on 1 thread: 90 % >= 2x, 80 % >= 1.3x, 70 % never slower (auto dispatch)."""
    out = {}
    for block in sorted({r["block"] for r in rows}):
        one = [r for r in rows if r["threads"] == 1 and r["block"] == block]
        at = {s: [r["speedup_auto"] for r in one if abs(r["sparsity"] - s) < 1e-9] for s in (0.7, 0.8, 0.9)}
        out[f"block{block}"] = {
            "min_speedup_90": min(at[0.9], default=None), "met_90_2x": bool(at[0.9]) and min(at[0.9]) >= 2.0,
            "min_speedup_80": min(at[0.8], default=None), "met_80_1.3x": bool(at[0.8]) and min(at[0.8]) >= 1.3,
            "min_speedup_70": min(at[0.7], default=None),
            # "never slower": within the timing noise of a shared machine (5 %)
            "met_70_not_slower": bool(at[0.7]) and min(at[0.7]) >= 0.95,
        }
    return out


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    threads = sorted({r["threads"] for r in rows})
    fig, axes = plt.subplots(1, len(threads) * 2, figsize=(6 * len(threads) * 2, 4.5), sharey=True)
    for ax, (th, block) in zip(np.atleast_1d(axes), [(t, b) for t in threads for b in (1, 4)], strict=False):
        for shape in sorted({(r["kind"], r["cout"], r["cin"], r["pixels"]) for r in rows}):
            sel = sorted((r for r in rows if (r["kind"], r["cout"], r["cin"], r["pixels"]) == shape
                          and r["threads"] == th and r["block"] == block), key=lambda r: r["sparsity"])
            if sel:
                ax.plot([100 * r["sparsity"] for r in sel], [r["speedup_sparse"] for r in sel], "o-",
                        label=f"{shape[1]}x{shape[2]}x{shape[3]}")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.axhline(2.0, color="g", lw=0.8, ls="--")
        ax.set_title(f"kernel vs dense torch, {th} thread(s), block {block}")
        ax.set_xlabel("sparsity (%)")
        ax.set_yscale("log")
    np.atleast_1d(axes)[0].set_ylabel("speed-up over dense (x)")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sparsities", default="0.7,0.8,0.9,0.95")
    p.add_argument("--blocks", default="1,4")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--repeats", type=int, default=41)
    p.add_argument("--out", default=str(RESULTS / "kernel.json"))
    args = p.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    shapes = [("conv", *s) for s in CONV_SHAPES] + [("linear", *s) for s in FFN_SHAPES]
    print(f"kernel backend: {backend()}")
    print(f"{'shape':>18} {'sp':>4} {'blk':>3} {'thr':>3} {'dense ms':>9} {'sparse':>7} {'auto':>6} {'csr':>6}")
    for threads in (int(t) for t in args.threads.split(",")):
        for kind, cout, cin, n in shapes:
            for s in (float(v) for v in args.sparsities.split(",")):
                for block in (int(b) for b in args.blocks.split(",")):
                    r = case(kind, cout, cin, n, s, block, threads, args.repeats, rng)
                    rows.append(r)
                    print(f"{cout:>5}x{cin:<5}x{r['pixels']:<6} {int(100 * s):>4} {block:>3} {threads:>3} "
                          f"{r['dense_ms']:>9.3f} {r['speedup_sparse']:>6.2f}x {r['speedup_auto']:>5.2f}x "
                          f"{r['speedup_csr']:>5.2f}x", flush=True)
    targets = check_targets(rows)
    print(targets)
    out = Path(args.out)
    write_result(out, {"backend": backend(), "repeats": args.repeats, "targets": targets, "rows": rows})
    with out.with_suffix(".csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    plot(rows, out.with_suffix(".png"))
    print(f"wrote {out} (+ .csv, .png)")


if __name__ == "__main__":
    main()
