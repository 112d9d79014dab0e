"""End to end: a MobileNetV3 sub-network on digits, pruned to 80 / 90 % in its 1x1 layers.

1. Train the digits MobileNetV3 super-network (``tailor train --supernet mobilenetv3 --data digits``
   settings, checkpoint under ``--train-dir``, resumed if there) and extract its largest
   sub-network as a plain model (BN re-estimated on training images).
2. Fine-tune copies of it for ``--epochs``: dense (the baseline), and with gradual magnitude
   pruning (Zhu & Gupta cubic schedule, ERK layer densities, blocks of ``--block`` output
   channels) to each target sparsity over the 1x1 convolutions and the classifier, stem dense.
3. Top-1 on the digits validation split; batch-1 latency on 1 thread of the BN-folded dense model
   against the BN-folded sparse one (``sparsify``, measured dispatch), taking turns call by call,
   fastest of ``--repeats`` (medians recorded), at the digits resolution and at 224 x 224 (same
   weights; the network is fully convolutional) where the 1x1 layers are big enough to matter.

Run:  PYTHONPATH=src .venv/bin/python benchmarks/sparse/e2e_mobilenet.py
Writes benchmarks/results/sparse/e2e_mobilenet.json.
"""

from __future__ import annotations

import argparse
import copy
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tailor.lab.meta import write_result
from tailor.measure.accuracy import recalibrate_batchnorm, top1
from tailor.problems.supernet import DIGITS_SIZES
from tailor.sparse import GradualPruner, Pruner, fold_batchnorm, layers_of, sparse_layers, sparsify
from tailor.train import TrainSpec, fit_to_input, train

RESULTS = Path("benchmarks/results/sparse")


def finetune(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, sparsity: float, block: int,
             seed: int) -> dict:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = len(x) // 64
    total = epochs * steps_per_epoch
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, nesterov=True, weight_decay=5e-5)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    gradual = None
    if sparsity > 0:
        pruner = Pruner(layers_of(model, dense_first=True), block)
        gradual = GradualPruner(pruner, sparsity, begin=0, end=int(0.6 * total), frequency=max(1, total // 40))
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for s in range(steps_per_epoch):
            idx = order[s * 64 : (s + 1) * 64]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            sched.step()
            if gradual is not None:
                gradual(epoch, s + 1, steps_per_epoch, 0.0)
    return {} if gradual is None else {k: round(v, 4) for k, v in gradual.pruner.sparsity().items()}


def latency(models: dict[str, nn.Module], x: torch.Tensor, repeats: int) -> dict[str, dict[str, float]]:
    with torch.no_grad():
        for m in models.values():
            m(x)
            m(x)
        samples: dict[str, list[float]] = {k: [] for k in models}
        keys = list(models)
        order = np.random.default_rng(0)
        for _ in range(repeats):  # a new order each round: no model always runs after the same one
            for k in (keys[i] for i in order.permutation(len(keys))):
                t = time.perf_counter()
                models[k](x)
                samples[k].append(time.perf_counter() - t)
    return {k: {"min_ms": 1e3 * float(np.min(v)), "median_ms": 1e3 * float(np.median(v))} for k, v in samples.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-dir", default="runs/sparse/mobilenetv3-digits-s0")
    p.add_argument("--supernet-epochs", type=int, default=10)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--sparsities", default="0.8,0.9")
    p.add_argument("--block", type=int, default=4)
    p.add_argument("--repeats", type=int, default=101)
    p.add_argument("--out", default=str(RESULTS / "e2e_mobilenet.json"))
    args = p.parse_args()
    torch.set_num_threads(1)
    spec = TrainSpec(supernet="mobilenetv3", supernet_kwargs=DIGITS_SIZES["mobilenetv3"], data="digits",
                     epochs=args.supernet_epochs, seed=0)
    t0 = time.time()
    result = train(spec, args.train_dir, resume=True)
    print(f"super-network trained ({time.time() - t0:.0f} s)", flush=True)
    net, data = result.supernet, result.data
    cfg = net.space().extreme("max")
    res = cfg["resolution"]
    xtr = fit_to_input(data.x_train, (data.in_channels, res, res))
    xva = fit_to_input(data.x_val, (data.in_channels, res, res))
    base = net.subnet(cfg)
    recalibrate_batchnorm(base, ((b, None) for b in torch.split(xtr[:512], 64)), n_batches=8)
    batches = list(zip(torch.split(xva, 256), torch.split(data.y_val, 256), strict=True))
    rows = {"inherited": {"top1": top1(base, batches)}}
    variants = {"dense": 0.0, **{f"sparse{int(100 * float(s))}": float(s) for s in args.sparsities.split(",")}}
    models = {}
    for name, s in variants.items():
        m = copy.deepcopy(base)
        t0 = time.time()
        achieved = finetune(m, xtr, data.y_train, args.epochs, s, args.block, seed=0)
        m.eval()
        rows[name] = {"target_sparsity": s, "top1": top1(m, batches), "finetune_s": time.time() - t0,
                      "sparsity": achieved}
        models[name] = fold_batchnorm(m)
        print(name, rows[name], flush=True)
    timings = {}
    for side in (res, 224):
        x = torch.randn(1, data.in_channels, side, side)
        runners: dict[str, nn.Module] = {"dense": models["dense"]}
        for name in variants:
            if name == "dense":
                continue
            sp = copy.deepcopy(models[name])
            sparsify(sp, example_inputs=x)  # decides sparse or dense per layer at this shape
            runners[name] = sp
            runners[name + "_masked_dense"] = models[name]  # same zeros, dense execution
            chosen = sum(bool(next(iter(m.decisions.values()))["sparse"]) for m in sparse_layers(sp).values())
            rows[name][f"layers_on_kernel_{side}"] = f"{chosen}/{len(sparse_layers(sp))}"
        with torch.no_grad():  # the sparse runtime computes what the masked dense model does
            for name in variants:
                if name != "dense":
                    torch.testing.assert_close(runners[name](x), runners[name + "_masked_dense"](x),
                                               rtol=1e-4, atol=1e-4)
        t = latency(runners, x, args.repeats)
        for name in variants:
            if name != "dense":
                t[name]["speedup_vs_dense"] = t["dense"]["min_ms"] / t[name]["min_ms"]
                t[name]["speedup_vs_dense_median"] = t["dense"]["median_ms"] / t[name]["median_ms"]
        timings[f"{side}x{side}"] = t
        print(side, {k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in t.items()}, flush=True)
    write_result(args.out, {"config": cfg, "block": args.block, "epochs": args.epochs, "threads": 1,
                            "accuracy": rows, "latency": timings})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
