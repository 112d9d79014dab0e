"""Where does the sparse runtime pay off end to end? MobileNetV3 latency, dense vs sparse runtime,
across width and input resolution (batch 1, 1 thread, PyTorch eager).

For each (width, resolution), the super-network's largest sub-network (kernel 3, expand 6, depth 4;
digits-sized head: 1 input channel, 10 classes, final/head 128 channels) has the 1x1 expand and
project convolutions of every stage pruned by magnitude to 80 % and 90 % in blocks of 4 output
channels (uniform per layer; stem, squeeze-excite and head dense). Weights are the initial ones:
latency depends on the count and layout of non-zeros, not their values, so no training is needed
(accuracy after pruning and fine-tuning: ``e2e_mobilenet.py``, ``search_dimension.py``).
The dense model and both pruned models are BatchNorm-folded; the pruned ones run on the sparse
runtime (``sparse_runtime``: measured dispatch per layer). The three take turns in a new random
order each round; fastest and median of the rounds per model.

Run:  PYTHONPATH=src .venv/bin/python benchmarks/sparse/e2e_width.py
Writes benchmarks/results/sparse/e2e_width.json.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from pathlib import Path

import numpy as np
import torch

from tailor.lab.meta import write_result
from tailor.sparse import Pruner, fold_batchnorm, layers_of, sparse_layers, sparse_runtime
from tailor.supernets import create_supernet

RESULTS = Path("benchmarks/results/sparse")


def timings(models: dict, x: torch.Tensor, rounds: int, rng: np.random.Generator) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in models}
    names = list(models)
    with torch.inference_mode():
        for m in models.values():
            m(x), m(x)
        for _ in range(rounds):
            for i in rng.permutation(len(names)):
                t0 = time.perf_counter()
                models[names[i]](x)
                out[names[i]].append((time.perf_counter() - t0) * 1e3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default="0.25:32,0.25:128,1.0:32,1.0:64,1.0:128",
                    help="width:resolution pairs, comma-separated")
    ap.add_argument("--levels", default="0.8,0.9")
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--out", default=str(RESULTS / "e2e_width.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    levels = [float(v) for v in args.levels.split(",")]
    rows = []
    for case in args.cases.split(","):
        width, res = float(case.split(":")[0]), int(case.split(":")[1])
        torch.manual_seed(0)
        net = create_supernet("mobilenetv3", num_classes=10, in_channels=1, width_mult=width, resolutions=(res,),
                              kernel_sizes=(3,), final_channels=128, head_channels=128).eval()
        sub = net.subnet(net.space().extreme("max")).eval()
        x = torch.randn(1, 1, res, res)
        models = {"dense": fold_batchnorm(copy.deepcopy(sub))}
        on_kernel = {}
        for s in levels:
            pruned = copy.deepcopy(sub)
            layers = {n: m for n, m in layers_of(pruned, dense_first=True).items()
                      if n.startswith("blocks.") and ".se." not in n}
            Pruner(layers, 4).prune({n: s for n in layers})
            sparse_runtime(pruned, x)
            chosen = [m for m in sparse_layers(pruned).values() if any(d["sparse"] for d in m.decisions.values())]
            on_kernel[f"{s:g}"] = f"{len(chosen)}/{len(layers)}"
            models[f"{s:g}"] = pruned
        t = timings(models, x, args.rounds, rng)
        row = {"width": width, "resolution": res, "on_kernel": on_kernel,
               **{f"{k}_min_ms": float(np.min(v)) for k, v in t.items()},
               **{f"{k}_median_ms": float(np.median(v)) for k, v in t.items()}}
        for s in levels:
            k = f"{s:g}"
            row[f"speedup_{k}_min"] = row["dense_min_ms"] / row[f"{k}_min_ms"]
            row[f"speedup_{k}_median"] = row["dense_median_ms"] / row[f"{k}_median_ms"]
        rows.append(row)
        print(f"w{width:g} {res}px: dense {row['dense_min_ms']:.2f} ms; " + "; ".join(
            f"{s:g}: {row[f'{s:g}_min_ms']:.2f} ms, x{row[f'speedup_{s:g}_min']:.2f} (median x"
            f"{row[f'speedup_{s:g}_median']:.2f}), kernel {on_kernel[f'{s:g}']}" for s in levels), flush=True)
    out = write_result(args.out, {"settings": vars(args), "rows": rows, "load_avg": list(os.getloadavg())})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
