"""Benchmark of the CNN families on digits: smallest / knee / largest sub-networks per family.

For ``mobilenetv3`` and ``resnet``: train the super-network on scikit-learn's 8x8 digits with the
defaults of ``tailor search --supernet NAME`` (sandwich rule, 10 epochs; a checkpoint under
``--train-root`` is reused), run a short search with tailor's default tactic (budget 40,
accuracy max vs latency min), take its knee, and report for the smallest (``extreme("min")``),
knee and largest (``extreme("max")``) sub-networks: params and MACs (FlopCounterMode, FLOPs / 2)
at batch 1, ONNX Runtime latency at batch 1 on 1 thread (median and IQR; the fastest of 5
interleaved rounds of 30 runs, because other processes may share the machine), and top-1 on
the digits validation split (360 images) after BN re-calibration, as the search measures it.
Writes benchmarks/results/cnn-families/cnn_families.json (docs/benchmarks/cnn-families.md).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/families/bench_cnn_families.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

torch.set_num_threads(1)

from tailor.lab.meta import write_result  # noqa: E402
from tailor.measure.latency import LatencyResult, measure_latency  # noqa: E402
from tailor.problems import BuildContext, ProblemSpec, build_problem  # noqa: E402
from tailor.problems.supernet import DIGITS_SIZES  # noqa: E402
from tailor.results import front, knee  # noqa: E402
from tailor.search import DEFAULT_TACTIC, make_tactic  # noqa: E402
from tailor.store import open_store  # noqa: E402
from tailor.study import Study  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "results" / "cnn-families" / "cnn_families.json"
FAMILIES = ("mobilenetv3", "resnet")
EPOCHS, BUDGET, SEED = 10, 40, 0
ROUNDS, REPEATS = 5, 30


def _best_latency(models: dict[str, torch.nn.Module], inputs: dict[str, torch.Tensor]) -> dict[str, LatencyResult]:
    """Interleave the models over several rounds and keep each one's fastest round (its median),
    so a busy spell on the shared machine hits every model alike."""
    best: dict[str, LatencyResult] = {}
    for _ in range(ROUNDS):
        for name, model in models.items():
            r = measure_latency(model, inputs[name], "onnxruntime", threads=1, warmup=5, repeats=REPEATS)
            if name not in best or r.median_ms < best[name].median_ms:
                best[name] = r
    return best


def bench_family(family: str, root: Path, budget: int) -> dict:
    t0 = time.perf_counter()
    history: list[dict] = []
    spec = ProblemSpec("supernet", {"supernet": family, "data": "digits", "epochs": EPOCHS, "seed": SEED,
                                    "train_dir": str(root / f"{family}-digits-sandwich-s{SEED}")})
    problem = build_problem(spec, BuildContext(on_epoch=history.append))
    setup_s = time.perf_counter() - t0
    net, space = problem.supernet, problem.space
    accuracy, _latency, complexity = problem.evaluators

    t0 = time.perf_counter()
    study_dir = root / f"{family}-search-{DEFAULT_TACTIC}-s{SEED}"
    study_dir.mkdir(parents=True, exist_ok=True)
    study = Study(problem, make_tactic("default"), open_store(str(study_dir / "study.db")), seed=SEED)
    study.optimize(budget)
    search_s = time.perf_counter() - t0
    trials = study.trials()
    fr = front(trials, problem.objectives)
    k = knee(fr, problem.objectives)

    configs = {"smallest": space.extreme("min"), "knee": k.config, "largest": space.extreme("max")}
    subs = {name: net.subnet(cfg).eval() for name, cfg in configs.items()}
    inputs = {name: net.example_input(1, cfg) for name, cfg in configs.items()}
    latency = _best_latency(subs, inputs)
    rows = []
    for name, cfg in configs.items():
        (cx,) = complexity.evaluate([cfg])
        rows.append({
            "name": name,
            "config": space.canonical(cfg),
            "resolution": cfg["resolution"],
            "params": int(cx["params"]),
            "macs": int(cx["macs"]),
            "latency_ms": latency[name].median_ms,
            "latency_iqr_ms": latency[name].iqr_ms,
            "latency_min_ms": latency[name].min_ms,
            "accuracy": accuracy.accuracy(cfg),
            "search_metrics": k.metrics if name == "knee" else None,
        })
    return {
        "family": family,
        "supernet_kwargs": DIGITS_SIZES[family],
        "training": {
            "epochs": EPOCHS,
            "sampler": "sandwich",
            "checkpoint": problem.settings["checkpoint"],
            # empty when the checkpoint was reused; seconds are wall time of this process
            "history": [{k: h[k] for k in ("epoch", "loss", "lr", "seconds", "val_acc_largest")} for h in history],
            "train_s": sum(h["seconds"] for h in history) if history else None,
            "setup_s": setup_s,
        },
        "search": {
            "tactic": DEFAULT_TACTIC,
            "budget": budget,
            "evaluated": len(trials),
            "front_size": len(fr),
            "search_s": search_s,
            "knee_trial": k.number,
            "best_accuracy": max(t.metrics["accuracy"] for t in trials),
        },
        "rows": rows,
    }


def _print(results: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for res in results:
        tr = res["training"]
        trained = f"trained {tr['train_s']:.0f} s" if tr["train_s"] else "checkpoint reused"
        table = Table(title=f"{res['family']} on digits ({trained}, {res['search']['evaluated']} evaluated, "
                            f"front {res['search']['front_size']})")
        for col in ("sub-network", "res", "params", "MMACs", "latency ms (median)", "IQR ms", "top-1"):
            table.add_column(col, justify="left" if col == "sub-network" else "right")
        for r in res["rows"]:
            table.add_row(r["name"], str(r["resolution"]), f"{r['params']:,}", f"{r['macs'] / 1e6:.2f}",
                          f"{r['latency_ms']:.3f}", f"{r['latency_iqr_ms']:.3f}", f"{r['accuracy']:.4f}")
        console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--budget", type=int, default=BUDGET)
    parser.add_argument("--train-root", type=Path, default=Path("runs") / "bench_cnn_families",
                        help="checkpoints and studies (reused when present)")
    parser.add_argument("--json", type=Path, default=OUT)
    args = parser.parse_args()
    results = [bench_family(f, args.train_root, args.budget) for f in args.families]
    out = {
        "data": "digits (sklearn, 1,437 train / 360 val, upsampled to the sub-network's resolution)",
        "accuracy": "top-1 on the validation split after BN re-calibration on 512 training images",
        "latency": {"backend": "onnxruntime", "batch_size": 1, "threads": 1,
                    "summary": f"fastest of {ROUNDS} interleaved rounds of {REPEATS} runs (median and IQR of it)"},
        "torch_threads": torch.get_num_threads(),  # machine, commit and command in "meta"
        "families": results,
    }
    path = write_result(args.json, out, indent=2)
    _print(results)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
