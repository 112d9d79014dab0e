"""The MobileNetV3 peers problem with a profiled latency table as the latency objective.

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/latency/peers_table.py      # 5 seeds, budget 200
    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/latency/peers_table.py --remeasure-only

The problem of ``benchmarks/peers/mbv3_peers.py`` (accuracy on the digits validation split vs
latency), but latency is predicted from ``--table`` (``tailor profile --supernet mobilenetv3
--data digits --threads 1``), so every tool sees the same deterministic number for a
sub-network, whatever the machine's load. Runs are seed-major (all tools of seed 0, then seed
1, ...) and appended to a JSON-lines file at once, so a stopped benchmark resumes. Scored like
``mbv3_peers.py``: hypervolume ratio to the union front of all runs at 50/100/200 evaluations.

Then each run's final front is re-measured end to end (ONNX Runtime, batch 1, the table's
thread count, interleaved rounds, median): the hypervolume of the re-measured fronts (common
ideal and reference points from the re-measured union), Kendall tau between predicted and
measured latency over all front points, and the measurement's own repeatability (its two halves
of rounds), to show whether the table-guided fronts hold on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from tailor.errors import TailorError
from tailor.lab.meta import write_result
from tailor.lab.peers.harness import load, progress_line, run_all, run_tool, trace_fields
from tailor.lab.peers.mbv3 import mbv3_problem

ROOT = Path(__file__).resolve().parents[2]
TRAIN_DIR = ROOT / "runs" / "peers" / "mobilenetv3-digits"
TABLE = ROOT / "benchmarks" / "results" / "latency" / "mbv3_digits_t1.json"
TOOLS = ("tailor-default", "tailor-linas", "random", "optuna-nsga2", "optuna-tpe", "pymoo-nsga2",
         "dynast-linas", "dynast-evolutionary", "dynast-random")
CHECKPOINTS = (50, 100, 200)


def run_item(epochs: int, table: str, tool: str, key: str, seed: int, budget: int) -> dict:
    import torch

    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    trace = run_tool(mbv3_problem(TRAIN_DIR, epochs, "latency", table), tool, budget, seed)
    F = [[100.0 * (1.0 - m["accuracy"]), m["latency_ms"]] for m in trace.metrics]  # error %, predicted ms
    return {"tool": tool, "key": key, "seed": seed, "budget": budget, "evaluations": len(F), "F": F,
            "keys": trace.keys, "configs": trace.configs, "load_1m": [load_before, os.getloadavg()[0]],
            **trace_fields(trace)}


def hv_ratios(results: list[dict]) -> tuple[list[dict], dict]:
    """Per run: HV / union-front HV at each checkpoint (ideal and reference: best and worst of all runs)."""
    from tailor.search import hypervolume, hypervolume_curve, pareto_mask

    allF = np.concatenate([np.asarray(r["F"]) for r in results])
    ideal, ref = allF.min(axis=0), allF.max(axis=0)
    union_hv = hypervolume(np.unique(allF[pareto_mask(allF)], axis=0), ref, ideal)
    out = []
    for r in results:
        curve = hypervolume_curve(np.asarray(r["F"]), ref, ideal) / union_hv
        out.append({"tool": r["tool"], "seed": r["seed"],
                    "hv_ratio": {str(n): float(curve[min(n, len(curve)) - 1]) for n in CHECKPOINTS}})
    return out, {"ideal": ideal.tolist(), "ref": ref.tolist(), "union_hv": union_hv}


def summarise(scored: list[dict], field: str = "hv_ratio") -> list[dict]:
    rows = []
    for tool in dict.fromkeys(r["tool"] for r in scored):
        rs = [r for r in scored if r["tool"] == tool]
        row = {"tool": tool, "seeds": len(rs)}
        for n in rs[0][field]:
            q1, med, q3 = np.percentile([r[field][n] for r in rs], [25, 50, 75])
            row[f"{field}@{n}"], row[f"{field}@{n}_q1"], row[f"{field}@{n}_q3"] = float(med), float(q1), float(q3)
        rows.append(row)
    return rows


def final_front(r: dict) -> list[int]:
    from tailor.search import pareto_mask

    F = np.asarray(r["F"])
    idx = np.flatnonzero(pareto_mask(F))
    seen, keep = set(), []
    for i in idx:  # one index per distinct configuration
        if r["keys"][i] not in seen:
            seen.add(r["keys"][i])
            keep.append(int(i))
    return keep


def remeasure(results: list[dict], table_path: Path, rounds: int, repeats: int) -> dict:
    """Every run's final front measured end to end; HV of the re-measured fronts, and rank agreement."""
    from scipy.stats import kendalltau

    from tailor.latency_table import LatencyTable
    from tailor.latency_table.profile import export_network
    from tailor.latency_table.runner import measure_models
    from tailor.search import hypervolume, pareto_mask

    table = LatencyTable.load(table_path)
    net = mbv3_problem(TRAIN_DIR, results[0]["epochs"], "latency", str(table_path)).supernet
    fronts = {(r["tool"], r["seed"]): final_front(r) for r in results}
    configs: dict[str, dict] = {}
    predicted: dict[str, float] = {}
    for r in results:
        for i in fronts[(r["tool"], r["seed"])]:
            configs[r["keys"][i]] = r["configs"][i]
            predicted[r["keys"][i]] = r["F"][i][1]
    with tempfile.TemporaryDirectory(prefix="peers-remeasure-") as tmp:
        models = {}
        for n, (key, cfg) in enumerate(configs.items()):
            path = Path(tmp) / f"n{n:04d}.onnx"
            models[key] = (path, export_network(net, cfg, path))
        got = measure_models(models, table.threads, rounds, repeats, warmup=5, seed=3)
    measured = {k: v["median_ms"] for k, v in got.items()}
    half = rounds // 2
    a = [float(np.median(got[k]["rounds_ms"][:half])) for k in configs]
    b = [float(np.median(got[k]["rounds_ms"][half:])) for k in configs]
    keys = list(configs)
    # the re-measured fronts: each run's final front points, latency replaced by the measurement
    pts = {rk: np.array([[r["F"][i][0], measured[r["keys"][i]]] for i in fronts[rk]])
           for r in results for rk in [(r["tool"], r["seed"])]}
    allP = np.concatenate(list(pts.values()))
    ideal, ref = allP.min(axis=0), allP.max(axis=0)
    union_hv = hypervolume(np.unique(allP[pareto_mask(allP)], axis=0), ref, ideal)
    runs = []
    for r in results:
        rk = (r["tool"], r["seed"])
        P = pts[rk]
        still = pareto_mask(P)  # front points still non-dominated within their own front once measured
        pred_F = np.array([[r["F"][i][0], predicted[r["keys"][i]]] for i in fronts[rk]])
        runs.append({"tool": r["tool"], "seed": r["seed"], "front_size": len(P),
                     "hv_ratio_measured": {"200": float(hypervolume(P, ref, ideal) / union_hv)},
                     "front_kept": float(still.mean()),
                     "tau_front": float(kendalltau(pred_F[:, 1], P[:, 1]).statistic) if len(P) > 2 else None})
    return {"n_configs": len(keys), "rounds": rounds, "repeats": repeats, "threads": table.threads,
            "tau_pred_vs_measured": float(kendalltau([predicted[k] for k in keys], [measured[k] for k in keys])
                                          .statistic),
            "mape_pred_vs_measured": float(np.mean([abs(predicted[k] - measured[k]) / measured[k] for k in keys])),
            "repeat_tau": float(kendalltau(a, b).statistic),
            "repeat_mape": float(np.mean(np.abs(np.array(a) - np.array(b)) / np.array(b))),
            "ideal": ideal.tolist(), "ref": ref.tolist(), "runs": runs,
            "summary": summarise(runs, "hv_ratio_measured"),
            "points": [{"key": k, "predicted_ms": predicted[k], "measured_ms": measured[k],
                        "spread": got[k]["spread"]} for k in keys]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", type=Path, default=TABLE)
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=None, help="super-network training epochs (default: tailor search's)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=6, help="re-measurement rounds")
    ap.add_argument("--repeats", type=int, default=15, help="re-measurement timed calls per round")
    ap.add_argument("--jsonl", type=Path, default=ROOT / "runs" / "latency" / "peers_table.jsonl")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "latency" / "peers_table.json")
    ap.add_argument("--remeasure-only", action="store_true", help="score and re-measure the finished runs only")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.epochs is None:
        from tailor.problems.supernet import SupernetOptions

        args.epochs = SupernetOptions.epochs
    table = str(args.table.resolve())
    tools = [t for t in args.tools.split(",") if t]
    if not args.worker:
        from tailor.lab.peers.harness import dynast_python

        if not dynast_python(ROOT).exists():  # DyNAS-T only where its venv was installed
            dropped = [t for t in tools if t.startswith("dynast-")]
            tools = [t for t in tools if not t.startswith("dynast-")]
            if dropped:
                print(f"no DyNAS-T venv at {dynast_python(ROOT).parent.parent}: skipping {', '.join(dropped)}")
        from importlib.util import find_spec

        if find_spec("optuna") is None:  # Optuna's samplers only where optuna is installed
            dropped = [t for t in tools if t.startswith("optuna-")]
            tools = [t for t in tools if not t.startswith("optuna-")]
            if dropped:
                print(f"optuna is not installed: skipping {', '.join(dropped)}")
        mbv3_problem(TRAIN_DIR, args.epochs, "latency", table)  # train or load once, check the table
    key = f"mbv3-table-{Path(table).stem}"
    items = [(t, key, s, args.budget) for s in range(args.seeds) for t in tools]  # seed-major
    if not args.remeasure_only:
        try:
            run_all(__file__, run_item, items, args.jsonl, args.jobs, args.worker,
                    ["--budget", str(args.budget), "--seeds", str(args.seeds), "--epochs", str(args.epochs),
                     "--table", table], extra=(args.epochs, table), root=ROOT,
                    on_result=lambda r: print(progress_line(r), flush=True))
        except TailorError as e:
            sys.exit(f"peers_table: error: {e}")
    if args.worker:
        return
    by_run = {(r["tool"], r["seed"]): r for r in load(args.jsonl) if r["key"] == key and r["tool"] in tools}
    results = [r | {"epochs": args.epochs} for r in by_run.values()]  # one per (tool, seed), if run twice
    seeds = {t: sorted({r["seed"] for r in results if r["tool"] == t}) for t in tools}
    common = sorted(set.intersection(*(set(s) for s in seeds.values()))) if seeds else []
    results = [r for r in results if r["seed"] in common]  # only seeds every tool finished: a fair median
    scored, reference = hv_ratios(results)
    rows = summarise(scored)
    print(f"seeds every tool finished: {common}")
    print(f"{'tool':>16} " + " ".join(f"{'hv@' + str(n):>9}" for n in CHECKPOINTS))
    for r in rows:
        print(f"{r['tool']:>16} " + " ".join(f"{r[f'hv_ratio@{n}']:>9.4f}" for n in CHECKPOINTS))
    out = {"table": os.path.relpath(table, ROOT), "seeds": common, "reference": reference, "summary": rows,
           "runs": scored, "remeasured": None}
    write_result(args.json, out)
    re = remeasure(results, Path(table), args.rounds, args.repeats)
    out["remeasured"] = re
    print(f"re-measured {re['n_configs']} front points: tau predicted vs measured {re['tau_pred_vs_measured']:.3f} "
          f"(measurement vs itself {re['repeat_tau']:.3f}), MAPE {100 * re['mape_pred_vs_measured']:.1f} %")
    for r in re["summary"]:
        print(f"{r['tool']:>16} re-measured HV ratio {r['hv_ratio_measured@200']:.4f}")
    write_result(args.json, out)


if __name__ == "__main__":
    main()
