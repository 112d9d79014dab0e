"""tailor against its peers on a real super-network: MobileNetV3 on the built-in digits.

    .venv/bin/python benchmarks/peers/mbv3_peers.py            # every tool, budget 200, 5 seeds
    .venv/bin/python benchmarks/peers/mbv3_peers.py --objective macs   # the control (see below)

Objectives: top-1 accuracy on the digits validation split (max, batch-norm recalibrated per
sub-network) and ONNX Runtime latency at batch 1 on this machine (min). Every tool measures
through the same tailor evaluators, whose latency cache (``runs/peers/latency-cache``) gives a
configuration the same latency whichever tool asks for it. No true front is known, so a run is
scored by its hypervolume divided by that of the union front of all runs, between a common
ideal point and reference point (the best and the worst value of each objective, error % and
latency, that any run measured), and by how many union-front points it found.

``--objective macs`` swaps the measured latency for the sub-network's MACs (counted, so exactly
reproducible): a control that tells a search's own quality apart from the latency
measurement's noise on the machine at hand (``mbv3_latency_noise.py`` measures that noise).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from tailor.errors import TailorError
from tailor.lab.meta import write_result
from tailor.lab.peers.harness import progress_line, run_all, run_tool, trace_fields
from tailor.lab.peers.mbv3 import mbv3_problem

ROOT = Path(__file__).resolve().parents[2]
TRAIN_DIR = ROOT / "runs" / "peers" / "mobilenetv3-digits"
os.environ.setdefault("TAILOR_CACHE_DIR", str(ROOT / "runs" / "peers" / "latency-cache"))

DEFAULT_TOOLS = ("tailor-default", "dynast-linas", "dynast-evolutionary", "dynast-random",
                 "optuna-nsga2", "optuna-tpe", "pymoo-nsga2", "random")
KEYS = {"latency": "mobilenetv3-digits", "macs": "mobilenetv3-digits-macs"}  # problem key per objective
SECOND = {"latency": ("latency_ms", 1.0), "macs": ("macs", 1e-6)}  # metric, scale (ms, MMACs)
CHECKPOINTS = (50, 100, 200)


def objective_of(key: str) -> str:
    return next(o for o, k in KEYS.items() if k == key)


def run_item(epochs: int, tool: str, key: str, seed: int, budget: int) -> dict:
    import torch

    torch.set_num_threads(1)
    objective = objective_of(key)
    trace = run_tool(mbv3_problem(TRAIN_DIR, epochs, objective), tool, budget, seed)
    metric, scale = SECOND[objective]
    F = [[100.0 * (1.0 - m["accuracy"]), scale * m[metric]] for m in trace.metrics]  # error %, ms or MMACs
    return {"tool": tool, "key": key, "seed": seed, "budget": budget, "evaluations": len(F), "F": F,
            "configs": trace.keys, **trace_fields(trace)}


def score(results: list[dict]) -> tuple[list[dict], dict]:
    """HV ratio to the union front at each checkpoint, and union-front points found, per run."""
    from tailor.search import hypervolume, hypervolume_curve, pareto_mask

    allF = np.concatenate([np.asarray(r["F"]) for r in results])
    ideal, ref = allF.min(axis=0), allF.max(axis=0)  # best and worst any run measured
    union = np.unique(allF[pareto_mask(allF)], axis=0)
    union_hv = hypervolume(union, ref, ideal)
    union_set = {tuple(p) for p in union}
    scored = []
    for r in results:
        F = np.asarray(r["F"])
        curve = hypervolume_curve(F, ref, ideal) / union_hv
        scored.append({k: v for k, v in r.items() if k not in ("F", "configs")} | {
            "hv_ratio": {str(n): float(curve[min(n, len(curve)) - 1]) for n in CHECKPOINTS if n <= r["budget"]},
            "union_points_found": len({tuple(p) for p in F} & union_set),
            "hv_curve": [float(c) for c in curve[4::5]], "curve_step": 5,
        })
    return scored, {"ideal": ideal.tolist(), "ref": ref.tolist(), "union_front": union.tolist(),
                    "union_hv": union_hv}


def report(results: list[dict], json_out: Path, key: str) -> None:
    from tailor.bench import plot_curves

    scored, reference = score(results)
    rows = []
    for tool in dict.fromkeys(r["tool"] for r in scored):
        rs = [r for r in scored if r["tool"] == tool]
        row = {"tool": tool, "seeds": len(rs)}
        for n in (n for n in CHECKPOINTS if all(str(n) in r["hv_ratio"] for r in rs)):
            q1, med, q3 = np.percentile([r["hv_ratio"][str(n)] for r in rs], [25, 50, 75])
            row[f"hv@{n}"], row[f"hv@{n}_q1"], row[f"hv@{n}_q3"] = float(med), float(q1), float(q3)
        row["union_points_found"] = int(sum(r["union_points_found"] for r in rs))
        row["overhead_ms_per_eval"] = float(np.median([r["overhead_s_per_eval"] for r in rs]) * 1000)
        row["repeats"] = float(np.median([r["repeats"] for r in rs]))
        rows.append(row)
    write_result(json_out, {"reference": reference, "summary": rows, "results": scored, "traces": results})
    plot_curves([dict(r, tactic=r["tool"], latency_column=key) for r in scored], json_out.with_suffix(".png"),
                ylabel="HV / union-front HV", ylim=(0.6, 1.0))
    cols = [f"hv@{n}" for n in CHECKPOINTS] + ["union_points_found", "overhead_ms_per_eval", "repeats"]
    print(f"{'tool':>20} " + " ".join(f"{c:>12}" for c in cols))
    for r in rows:
        print(f"{r['tool']:>20} " + " ".join(f"{r[c]:>12.4g}" if c in r else f"{'-':>12}" for c in cols))
    print(f"union front: {len(reference['union_front'])} points; wrote {json_out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tools", default=",".join(DEFAULT_TOOLS))
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=None, help="super-network training epochs (default: tailor search's)")
    ap.add_argument("--objective", choices=sorted(KEYS), default="latency",
                    help="second objective: measured latency, or counted MACs (the noise-free control)")
    ap.add_argument("--jobs", type=int, default=1, help="parallel runs (they share the cores latency is measured on)")
    ap.add_argument("--jsonl", type=Path, default=None, help="default: runs/peers/mbv3[_macs].jsonl")
    ap.add_argument("--json", type=Path, default=None, help="default: benchmarks/results/peers/peers_mbv3[_macs].json")
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    suffix = "" if args.objective == "latency" else f"_{args.objective}"
    args.jsonl = args.jsonl or ROOT / "runs" / "peers" / f"mbv3{suffix}.jsonl"
    args.json = args.json or ROOT / "benchmarks" / "results" / "peers" / f"peers_mbv3{suffix}.json"
    key = KEYS[args.objective]
    if args.epochs is None:
        from tailor.problems.supernet import SupernetOptions

        args.epochs = SupernetOptions.epochs
    if not args.worker:
        # train (or load) the super-network once, before any worker needs it
        mbv3_problem(TRAIN_DIR, args.epochs, args.objective)
    items = [(t, key, s, args.budget) for t in args.tools.split(",") if t for s in range(args.seeds)]
    try:
        results = run_all(__file__, run_item, items, args.jsonl, args.jobs, args.worker,
                          ["--budget", str(args.budget), "--seeds", str(args.seeds), "--epochs", str(args.epochs),
                           "--objective", args.objective],
                          extra=(args.epochs,), root=ROOT, on_result=lambda r: print(progress_line(r), flush=True))
    except TailorError as e:
        sys.exit(f"mbv3_peers: error: {e}")
    if not args.worker and not args.no_report:
        report([r for r in results if r["key"] == key], args.json, key)


if __name__ == "__main__":
    main()
