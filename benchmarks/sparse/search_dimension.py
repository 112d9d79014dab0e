"""Sparsity as a search dimension: tailor's default search with a sparsity choice vs dense-only,
at equal budget, measured in one run.

1. Train a digits MobileNetV3 super-network (dense, sandwich rule, full epochs; checkpoint in
   ``--runs``, resumed), then fine-tune it with nested masks for the sparsity levels
   (``--levels``; the trainer samples them with the other dimensions; ``tailor.sparse.finetune``).
2. Two studies over that one set of weights: ``sparse`` (the levels as one choice per network,
   ``--per network``, or per stage) and ``dense`` (the same super-network with the level fixed at
   0, so the sparse space is a superset of the dense one). Both measure their own space's largest
   and smallest configuration first (seed configurations). Both: top-1 of the BN-recalibrated
   sub-network on the validation split (masks applied) and batch-1, 1-thread PyTorch eager latency
   on the sparse runtime (BN folded; pruned 1x1 layers on the kernel, measured dispatch), so both
   arms are measured the same way. The studies take turns batch by batch (interleaved), so machine
   load hits both alike, with tailor's default tactic and ``--budget`` evaluations each.
3. Hypervolume of (1 - accuracy, latency) for each arm's front, against one reference point over
   every measurement of both arms and all seeds (the worst value of each objective, +10 %).

Run:  PYTHONPATH=src .venv/bin/python benchmarks/sparse/search_dimension.py --seeds 0,1,2
Writes benchmarks/results/sparse/search_dimension.{json,png}.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from tailor.lab.meta import write_result
from tailor.measure.accuracy import AccuracyEvaluator
from tailor.measure.evaluators import LatencyEvaluator
from tailor.objectives import Objective
from tailor.problems._problem import Problem
from tailor.search import SearchSpec
from tailor.search.pareto import hypervolume, pareto_mask
from tailor.sparse.finetune import masked_finetune, sparse_train_spec
from tailor.store import open_store
from tailor.study import Study
from tailor.supernets import create_supernet
from tailor.train import TrainSpec, fit_to_input, train

RESULTS = Path("benchmarks/results/sparse")


def build_problems(net_sparse, net_dense, split, repeats: int, seed_dense: bool = False) -> dict[str, Problem]:
    """The two arms; each measures its space's largest and smallest configuration first, and with
    ``seed_dense`` the sparse arm also measures the dense arm's (the sparse space holds them)."""
    shape = tuple(net_sparse.example_input(1, net_sparse.space().extreme("max")).shape[1:])
    x_val, x_train = fit_to_input(split.x_val, shape), fit_to_input(split.x_train[:512], shape)
    val = list(zip(torch.split(x_val, 256), torch.split(split.y_val, 256), strict=True))
    calib = list(zip(torch.split(x_train, 64), torch.split(split.y_train[:512], 64), strict=True))
    out = {}
    dense_min = net_dense.space().extreme("min")  # sparsity 0: also a configuration of the sparse space
    seeds = {"dense": [net_dense.space().extreme("max"), dense_min],
             "sparse": [net_sparse.space().extreme("max"), net_sparse.space().extreme("min")]
             + ([dense_min] if seed_dense else [])}
    for arm, net in (("sparse", net_sparse), ("dense", net_dense)):
        net.eval()
        out[arm] = Problem(
            name=f"mobilenetv3-{arm}", space=net.space(),
            evaluators=[AccuracyEvaluator(net, val, calib),
                        LatencyEvaluator(net, backend="torch", threads=1, repeats=repeats, rounds=3,
                                         cache=False, runtime="sparse")],
            objectives=[Objective("accuracy", "max"), Objective("latency_ms", "min")],
            settings={"arm": arm}, supernet=net,
            seed_configs=seeds[arm])
    return out


def points(study: Study) -> np.ndarray:
    return np.array([[1.0 - t.metrics["accuracy"], t.metrics["latency_ms"]] for t in study.trials()])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2", help="search seeds, comma-separated")
    ap.add_argument("--budget", type=int, default=40)
    ap.add_argument("--batch", type=int, default=8, help="evaluations per turn of each arm")
    ap.add_argument("--levels", default="0,0.7,0.8,0.9")
    ap.add_argument("--per", default="network", choices=["network", "stage"], help="one level per network or stage")
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=12, help="dense super-network training")
    ap.add_argument("--sparse-epochs", type=int, default=6, help="masked fine-tune")
    ap.add_argument("--max-steps", type=int, default=None, help="cap on steps per epoch")
    ap.add_argument("--seed-dense", action="store_true",
                    help="the sparse arm also measures the dense arm's smallest configuration first")
    ap.add_argument("--repeats", type=int, default=15, help="timed calls per latency measurement")
    ap.add_argument("--runs", default="runs/sparse_search")
    ap.add_argument("--out", default=str(RESULTS / "search_dimension.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    levels = [float(v) for v in args.levels.split(",")]
    sizes = {"width_mult": args.width, "resolutions": [args.resolution], "final_channels": 128,
             "head_channels": 128}
    runs = Path(args.runs) / f"w{args.width:g}-r{args.resolution}-e{args.epochs}"
    t0 = time.perf_counter()
    dense_spec = TrainSpec(supernet="mobilenetv3", supernet_kwargs=sizes, data="digits", epochs=args.epochs,
                           sampler="sandwich", seed=0, max_steps_per_epoch=args.max_steps)
    dense = train(dense_spec, runs / "dense", resume=True,
                  on_epoch=lambda r: print(f"dense epoch {r['epoch']}: val {r['val_acc_largest']:.3f}", flush=True))
    spec = sparse_train_spec(dense_spec, levels, args.sparse_epochs, per=args.per)
    per = "" if args.per == "stage" else f"{args.per}-"
    ft = masked_finetune(spec, dense.supernet.state_dict(),
                         runs / (f"sparse-{per}e{args.sparse_epochs}-" + args.levels.replace(",", "-")),
                         dense.data, on_epoch=lambda r: print(f"masked fine-tune epoch {r['epoch']}: "
                                                             f"val {r['val_acc_largest']:.3f}", flush=True))
    train_s = time.perf_counter() - t0
    net_sparse = ft.supernet
    kwargs = {**dict(spec.supernet_kwargs), "num_classes": dense.data.num_classes,
              "in_channels": dense.data.in_channels}
    net_dense = create_supernet("mobilenetv3", **{**kwargs, "sparsities": [0.0], "sparsity_per": args.per})
    net_dense.load_state_dict(net_sparse.state_dict())  # the same weights, level fixed at 0
    problems = build_problems(net_sparse, net_dense, dense.data, args.repeats, args.seed_dense)

    result: dict = {"settings": vars(args), "train_s": train_s, "dense_history": dense.history,
                    "train_history": ft.history, "seeds": {}}
    loads: list[float] = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        store = open_store("sqlite://")
        studies = {arm: Study(p, SearchSpec(seed=seed).build(), store, name=f"{arm}-s{seed}", seed=seed)
                   for arm, p in problems.items()}
        done = 0
        t1 = time.perf_counter()
        while done < args.budget:  # interleaved: each arm one batch per turn
            done = min(args.budget, done + args.batch)
            for arm in (("sparse", "dense") if (done // args.batch) % 2 else ("dense", "sparse")):
                studies[arm].optimize(done)
            loads.append(os.getloadavg()[0])
            print(f"seed {seed}: {done}/{args.budget} each ({time.perf_counter() - t1:.0f} s, "
                  f"load {loads[-1]:.1f})", flush=True)
        row = {}
        for arm, study in studies.items():
            f = points(study)
            front = f[pareto_mask(f)]
            row[arm] = {"n": len(f), "front": front[np.argsort(front[:, 1])].tolist(),
                        "trials": [{"config": t.config, **t.metrics} for t in study.trials()]}
        row["search_s"] = time.perf_counter() - t1
        result["seeds"][str(seed)] = row
        summarize(result)
        hv = {arm: result["seeds"][str(seed)][arm]["hv"] for arm in ("sparse", "dense")}
        print(f"seed {seed}: HV sparse {hv['sparse']:.4f}  dense {hv['dense']:.4f}", flush=True)
        result["load_avg_1min"] = {"min": min(loads), "median": float(np.median(loads)), "max": max(loads)}
        out = write_result(args.out, result)  # after every seed: a stopped run keeps what it finished
        plot(result, out.with_suffix(".png"))
        print(f"wrote {out}", flush=True)


def summarize(result: dict) -> None:
    """Hypervolume of every seed's arms against one reference point over all of them (worst
    value of each objective, +10 %), so seeds are comparable; then medians and wins."""
    rows = result["seeds"].values()
    union = np.array([[1.0 - t["accuracy"], t["latency_ms"]] for r in rows for arm in ("sparse", "dense")
                      for t in r[arm]["trials"]])
    ref = union.max(axis=0) * 1.1
    for r in rows:
        for arm in ("sparse", "dense"):
            f = np.array([[1.0 - t["accuracy"], t["latency_ms"]] for t in r[arm]["trials"]])
            r[arm]["hv"] = hypervolume(f, ref)
    hv = {arm: [r[arm]["hv"] for r in rows] for arm in ("sparse", "dense")}
    result["ref"] = ref.tolist()
    result["summary"] = {arm: {"hv_median": float(np.median(v)), "hv": v} for arm, v in hv.items()}
    result["summary"]["sparse_wins"] = sum(s > d for s, d in zip(hv["sparse"], hv["dense"], strict=True))


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seeds = list(result["seeds"])
    fig, axes = plt.subplots(1, len(seeds), figsize=(5 * len(seeds), 4), squeeze=False)
    for ax, seed in zip(axes[0], seeds, strict=True):
        row = result["seeds"][seed]
        for arm, color in (("dense", "tab:blue"), ("sparse", "tab:red")):
            pts = np.array([[t["latency_ms"], 100 * t["accuracy"]] for t in row[arm]["trials"]])
            ax.scatter(pts[:, 0], pts[:, 1], s=10, alpha=0.35, color=color)
            front = np.array(row[arm]["front"])
            ax.step(front[:, 1], 100 * (1 - front[:, 0]), where="post", color=color,
                    label=f"{arm} (HV {row[arm]['hv']:.3f})")
        ax.set_xlabel("latency, batch 1, 1 thread (ms)")
        ax.set_ylabel("top-1 (%)")
        ax.set_title(f"seed {seed}")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
