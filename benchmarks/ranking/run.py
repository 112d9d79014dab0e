"""Ranking benchmark: does PA&DA rank sub-networks more like stand-alone training than SPOS?

Space: the NAS-Bench-201-shaped cell with 3 nodes (3 edges x 5 ops = 125 architectures),
8 channels, one cell, on scikit-learn digits (1,437 train / 360 validation images, 1x8x8).

1. Ground truth: every architecture trained stand-alone for ``--gt-epochs`` epochs with
   ``--gt-seeds`` seeds; its score is the mean validation accuracy. Cached in
   ``benchmarks/results/ranking/ranking_ground_truth.json`` (delete it, or pass ``--fresh-gt``, to redo).
2. For each sampler (spos, fairnas, sandwich, padad) and ``--seeds`` seeds: train the
   super-network with the same epochs, batch size and optimiser, then evaluate every
   architecture with inherited weights on the validation split.
3. Report Kendall tau, Spearman rho, top-5 overlap (of the true top 5, how many are in the
   predicted top 5), gradient variance (in-run, and probed at frozen weights at the start of
   each epoch, against SPOS's draws at the same weights: ``tailor.lab.probes.ProbedTrainer``)
   and time per step (``tailor.lab.step_cost``).

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ranking/run.py
Writes benchmarks/results/ranking/ranking.json and ranking.png beside it, prints a table
(docs/benchmarks/ranking.md).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import kendalltau, spearmanr

from tailor.lab.meta import run_metadata, write_result
from tailor.lab.probes import ProbedTrainer
from tailor.lab.step_cost import interleaved_step_times, step_overheads
from tailor.supernets.cell import OPS, CellSuperNet
from tailor.train import TrainSpec, evaluate, load_digits

RESULTS = Path(__file__).resolve().parents[1] / "results" / "ranking"
SAMPLERS = ("spos", "fairnas", "sandwich", "padad")


def all_configs(n_edges: int) -> list[dict]:
    space = CellSuperNet(n_nodes=3).space()
    genes = space.enumerate_genes()
    assert genes is not None and genes.shape[1] == n_edges
    return [space.from_genes(g) for g in genes]


def train_standalone(config: dict, data, channels: int, epochs: int, batch_size: int, lr: float, seed: int) -> float:
    """Fresh weights, one fixed architecture, same optimiser family as the super-network."""
    torch.manual_seed(seed)
    net = CellSuperNet(channels=channels).subnet(config)
    params = list(net.parameters())
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    n = len(data.x_train)
    spe = n // batch_size
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * spe)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        for s in range(spe):
            i = perm[s * batch_size : (s + 1) * batch_size]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(data.x_train[i]), data.y_train[i]).backward()
            opt.step()
            sched.step()
    net.eval()
    with torch.no_grad():
        return float((net(data.x_val).argmax(1) == data.y_val).float().mean())


def ground_truth(args, data, configs: list[dict]) -> dict:
    path = RESULTS / "ranking_ground_truth.json"
    settings = {
        "epochs": args.gt_epochs,
        "seeds": args.gt_seeds,
        "channels": args.channels,
        "batch_size": args.batch_size,
        "lr": args.gt_lr,
    }
    if path.exists() and not args.fresh_gt:
        cached = json.loads(path.read_text())
        if cached["settings"] == settings:
            print(f"ground truth: cached in {path}")
            return cached
    t0 = time.perf_counter()
    acc = np.zeros((len(configs), args.gt_seeds))
    for a, config in enumerate(configs):
        for s in range(args.gt_seeds):
            acc[a, s] = train_standalone(
                config, data, args.channels, args.gt_epochs, args.batch_size, args.gt_lr, seed=s
            )
        if (a + 1) % 25 == 0:
            print(f"ground truth: {a + 1}/{len(configs)} ({time.perf_counter() - t0:.0f} s)")
    out = {
        "settings": settings,
        "configs": [c["op"] for c in configs],
        "acc_seeds": acc.tolist(),
        "acc": acc.mean(1).tolist(),
        "seconds": time.perf_counter() - t0,
    }
    write_result(path, out, indent=None)
    return out


def top_overlap(truth: np.ndarray, pred: np.ndarray, k: int = 5) -> int:
    return len(set(np.argsort(-truth)[:k]) & set(np.argsort(-pred)[:k]))


def sampler_epochs(args, sampler: str) -> int:
    """``--padad-epochs`` gives PA&DA a shorter schedule (its cosine decay too), e.g. SPOS's wall time."""
    return args.padad_epochs if sampler == "padad" and args.padad_epochs else args.epochs


def run_sampler(args, data, configs, truth: np.ndarray, sampler: str, seed: int) -> dict:
    cfg = TrainSpec(
        supernet="nb201_cell",
        supernet_kwargs={"channels": args.channels},
        sampler=sampler,
        epochs=sampler_epochs(args, sampler),
        batch_size=args.batch_size,
        lr=args.lr,
        seed=seed,
        importance_weights=args.importance_weights,
        path_floor=args.floor,
        param_free=args.param_free,
        data_importance=not args.no_data_importance,
    )
    trainer = ProbedTrainer(cfg, out_dir=None, data=data, track_grad_variance=True, probe_draws=args.probe_draws)
    t0 = time.perf_counter()
    result = trainer.run(resume=False)
    train_s = time.perf_counter() - t0
    pred = np.array([evaluate(result.supernet, c, trainer.x_val, trainer.y_val) for c in configs])
    hist = result.history
    variances = [h["grad_variance"] for h in hist if h["grad_variance"] is not None]
    relative = [
        h["grad_variance"] / h["grad_mean_sq_norm"]
        for h in hist
        if h["grad_variance"] is not None and h["grad_mean_sq_norm"]
    ]
    probe = [h["probe_grad_variance"] for h in hist if h.get("probe_grad_variance") is not None]
    probe_rel = [
        h["probe_grad_variance"] / h["probe_grad_mean_sq_norm"]
        for h in hist
        if h.get("probe_grad_variance") is not None and h["probe_grad_mean_sq_norm"]
    ]
    ratio = [
        h["probe_grad_variance"] / h["probe_uniform_grad_variance"]
        for h in hist
        if h.get("probe_grad_variance") is not None and h["probe_uniform_grad_variance"]
    ]
    return {
        "sampler": sampler,
        "seed": seed,
        "epochs": sampler_epochs(args, sampler),
        "kendall_tau": float(kendalltau(truth, pred).statistic),
        "spearman_rho": float(spearmanr(truth, pred).statistic),
        "top5_overlap": top_overlap(truth, pred),
        "grad_variance": float(np.mean(variances)),
        "grad_relative_variance": float(np.mean(relative)),
        # the same at frozen weights (tailor.lab.probes.probe_grad_variance), mean over epochs
        "probe_grad_variance": float(np.mean(probe)) if probe else None,
        "probe_grad_relative_variance": float(np.mean(probe_rel)) if probe_rel else None,
        "probe_grad_variance_per_epoch": probe,
        # own variance / SPOS's variance at the same weights, geometric mean over epochs
        "probe_variance_ratio_to_uniform": float(np.exp(np.mean(np.log(ratio)))) if ratio else None,
        "sampler_ms": 1000 * float(np.mean([h["sampler_step_seconds"] for h in hist])),
        "step_ms": 1000 * float(np.mean([h["step_seconds"] for h in hist])),
        "paths_per_step": len(trainer.path_sampler.plan(np.random.default_rng(0))),
        "train_seconds": train_s,
        "inherited_acc": pred.tolist(),
    }


def step_times(args, data) -> dict:
    """The interleaved timing of SPOS and PA&DA on this benchmark's cell space."""
    return interleaved_step_times(data, supernet_kwargs={"channels": args.channels}, param_free=args.param_free,
                                  batch_size=args.batch_size, lr=args.lr, repeats=args.repeats)


def overheads(summary: dict) -> None:
    """Adds ``step_overheads`` of the summary's interleaved timing, and a whole run's cost ratio."""
    t = summary["interleaved_timing"]
    spos, pada = t["spos"], t["padad"]
    summary.update(step_overheads(t))
    # whole training runs: epochs x interleaved CPU time per step (same steps per epoch for both)
    epochs = summary.get("epochs", {})
    if epochs.get("spos") and epochs.get("padad"):
        summary["padad_training_cost_vs_spos"] = (
            epochs["padad"] * pada["cpu_median_ms"] / (epochs["spos"] * spos["cpu_median_ms"])
        )


def summarise(runs: list[dict]) -> dict:
    out = {}
    for s in SAMPLERS:
        rs = [r for r in runs if r["sampler"] == s]
        if not rs:
            continue
        row = {}
        for key in (
            "kendall_tau",
            "spearman_rho",
            "top5_overlap",
            "grad_variance",
            "grad_relative_variance",
            "probe_grad_variance",
            "probe_grad_relative_variance",
            "probe_variance_ratio_to_uniform",
            "step_ms",
            "sampler_ms",
        ):
            if any(r.get(key) is None for r in rs):
                continue
            v = np.array([r[key] for r in rs], dtype=float)
            row[key] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}
        row["paths_per_step"] = rs[0]["paths_per_step"]
        out[s] = row
        out.setdefault("epochs", {})[s] = rs[0].get("epochs")
    spos = {r["seed"]: r["kendall_tau"] for r in runs if r["sampler"] == "spos"}
    pada = {r["seed"]: r["kendall_tau"] for r in runs if r["sampler"] == "padad"}
    paired = [pada[k] - spos[k] for k in sorted(set(spos) & set(pada))]
    if paired:  # same seed = same initial weights and data split: a paired comparison
        out["padad_minus_spos_tau_paired"] = {
            "mean": float(np.mean(paired)),
            "wins": int(sum(d > 0 for d in paired)),
            "n": len(paired),
        }
    if "spos" in out and "padad" in out:
        out["padad_overhead_vs_spos"] = out["padad"]["step_ms"]["mean"] / out["spos"]["step_ms"]["mean"] - 1
    return out


def print_table(summary: dict) -> None:
    head = (
        f"{'sampler':10} {'tau':>15} {'rho':>15} {'top5':>10} {'grad var':>18} {'rel var':>12} "
        f"{'probe var':>16} {'probe rel':>11} {'vs SPOS draws':>14} {'ms/step':>14} paths"
    )
    print(head)
    print("-" * len(head))
    for s in SAMPLERS:
        if s not in summary:
            continue
        r = summary[s]

        def f(k, d=3, r=r):
            return f"{r[k]['mean']:.{d}f}±{r[k]['std']:.{d}f}" if k in r else "-"

        print(
            f"{s:10} {f('kendall_tau'):>15} {f('spearman_rho'):>15} {f('top5_overlap', 1):>10} "
            f"{f('grad_variance', 4):>18} {f('grad_relative_variance', 2):>12} "
            f"{f('probe_grad_variance', 3):>16} {f('probe_grad_relative_variance', 2):>11} "
            f"{f('probe_variance_ratio_to_uniform', 3):>14} {f('step_ms', 2):>14} {r['paths_per_step']}"
        )
    if "padad_minus_spos_tau_paired" in summary:
        d = summary["padad_minus_spos_tau_paired"]
        print(f"PA&DA - SPOS tau, paired by seed: {d['mean']:+.3f} ({d['wins']}/{d['n']} seeds)")
    if "padad_overhead_vs_spos" in summary:
        print(f"PA&DA time per step vs SPOS (training runs above): {100 * summary['padad_overhead_vs_spos']:+.1f} %")
    if "padad_overhead_interleaved" in summary:
        t = summary["interleaved_timing"]
        print(
            f"PA&DA vs SPOS, interleaved epochs (median ms/step): wall "
            f"{t['padad']['median_ms']:.2f} vs {t['spos']['median_ms']:.2f} "
            f"({100 * summary['padad_overhead_interleaved']:+.1f} %), CPU "
            f"{t['padad']['cpu_median_ms']:.2f} vs {t['spos']['cpu_median_ms']:.2f} "
            f"({100 * summary['padad_overhead_interleaved_cpu']:+.1f} %); samplers' own work "
            f"{t['padad']['sampler_median_ms']:.3f} vs {t['spos']['sampler_median_ms']:.3f} "
            f"({100 * summary['padad_sampler_overhead']:+.1f} % of a SPOS step)"
        )
        print(
            f"PA&DA machinery at tau = 0 (same path/data mix as SPOS), CPU: "
            f"{t['padad_tau0']['cpu_median_ms']:.2f} vs {t['spos']['cpu_median_ms']:.2f} ms/step "
            f"({100 * summary['padad_tau0_overhead_cpu']:+.1f} %)"
        )
    if "padad_training_cost_vs_spos" in summary:
        e = summary["epochs"]
        print(
            f"PA&DA training ({e['padad']} epochs) vs SPOS's ({e['spos']} epochs), CPU time: "
            f"x{summary['padad_training_cost_vs_spos']:.3f}"
        )


def plot(summary: dict, runs: list[dict], path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    names = [s for s in SAMPLERS if s in summary]
    for i, s in enumerate(names):
        taus = [r["kendall_tau"] for r in runs if r["sampler"] == s]
        axes[0].scatter([i] * len(taus), taus, alpha=0.6)
        axes[0].errorbar(
            i,
            summary[s]["kendall_tau"]["mean"],
            summary[s]["kendall_tau"]["std"],
            fmt="k_",
            capsize=6,
        )
    axes[0].set_xticks(range(len(names)), names)
    axes[0].set_ylabel("Kendall tau vs stand-alone")
    axes[0].set_title("Ranking consistency (125 cells)")
    for s in names:
        rs = [r for r in runs if r["sampler"] == s]
        key = "probe_variance_ratio_to_uniform" if rs[0].get("probe_variance_ratio_to_uniform") else "grad_variance"
        axes[1].scatter([r[key] for r in rs], [r["kendall_tau"] for r in rs], label=s)
    axes[1].set_xscale("log")
    axes[1].xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes[1].set_xlabel("grad variance: own draws / SPOS draws, same weights")
    axes[1].set_ylabel("Kendall tau")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--padad-epochs", type=int, default=None, help="PA&DA's epochs (default: --epochs)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--gt-epochs", type=int, default=10)
    p.add_argument("--gt-seeds", type=int, default=3)
    p.add_argument("--gt-lr", type=float, default=0.1)
    p.add_argument("--fresh-gt", action="store_true")
    p.add_argument("--gt-only", action="store_true")
    p.add_argument("--samplers", default=",".join(SAMPLERS))
    p.add_argument("--importance-weights", action="store_true")
    p.add_argument("--floor", type=float, default=0.1)
    p.add_argument("--param-free", default="zero", choices=["zero", "mean"])
    p.add_argument("--no-data-importance", action="store_true", help="padad: paths only")
    p.add_argument("--probe-draws", type=int, default=16, help="frozen-weight variance probe per epoch (0: off)")
    p.add_argument("--out", default=str(RESULTS / "ranking.json"))
    p.add_argument("--timing-only", action="store_true", help="redo the timing of --out only")
    p.add_argument("--repeats", type=int, default=12, help="interleaved timing epochs")
    args = p.parse_args()
    torch.set_num_threads(1)

    data = load_digits(val_fraction=0.2, seed=0)
    if args.timing_only:  # redo only the interleaved timing of an existing result file
        out = Path(args.out)
        result = json.loads(out.read_text())
        summary = result["summary"]
        summary["interleaved_timing"] = step_times(args, data)
        overheads(summary)
        print_table(summary)
        result["timing_meta"] = run_metadata()  # the runs keep their own "meta"
        out.write_text(json.dumps(result, indent=1) + "\n")
        plot(summary, result["runs"], out.with_suffix(".png"))
        print(f"updated the timing in {out} and redrew {out.with_suffix('.png')}")
        return
    configs = all_configs(3)
    gt = ground_truth(args, data, configs)
    if args.gt_only:
        return
    truth = np.array(gt["acc"])
    seed_taus = [
        kendalltau(np.array(gt["acc_seeds"])[:, i], np.array(gt["acc_seeds"])[:, j]).statistic
        for i in range(args.gt_seeds)
        for j in range(i + 1, args.gt_seeds)
    ]
    print(
        f"ground truth: acc {truth.min():.3f}..{truth.max():.3f}; tau between GT seeds "
        f"{np.mean(seed_taus):.3f} (the ceiling a proxy can reach)"
    )
    runs = []
    for sampler in args.samplers.split(","):
        for seed in range(args.seeds):
            r = run_sampler(args, data, configs, truth, sampler, seed)
            runs.append(r)
            print(
                f"{sampler:9} seed {seed}: tau {r['kendall_tau']:.3f} rho {r['spearman_rho']:.3f} "
                f"top5 {r['top5_overlap']} var {r['grad_variance']:.4f} "
                f"(rel {r['grad_relative_variance']:.2f}) probe var {r['probe_grad_variance'] or float('nan'):.4f} "
                f"(rel {r['probe_grad_relative_variance'] or float('nan'):.2f}, "
                f"x{r['probe_variance_ratio_to_uniform'] or float('nan'):.3f} of SPOS draws) {r['step_ms']:.2f} ms/step"
            )
    summary = summarise(runs)
    summary["interleaved_timing"] = step_times(args, data)
    overheads(summary)
    print_table(summary)
    out = write_result(args.out, {
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "space": {"ops": list(OPS), "edges": 3, "architectures": len(configs)},
        "machine": {"threads": torch.get_num_threads()},  # the rest is in "meta"
        "ground_truth": {
            "acc": gt["acc"],
            "tau_between_seeds": float(np.mean(seed_taus)),
            "seconds": gt["seconds"],
        },
        "summary": summary,
        "runs": runs,
    })
    plot(summary, runs, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")
    if not math.isfinite(summary.get("padad_overhead_vs_spos", 0.0)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
