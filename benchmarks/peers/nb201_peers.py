"""tailor against its peers on NAS-Bench-201: same table, same scoring, same budgets and seeds.

    .venv/bin/python benchmarks/peers/nb201_peers.py                  # every tool, the seven studied columns
    .venv/bin/python benchmarks/peers/nb201_peers.py --tools optuna-gp --budget 100 --seeds 3

Each (tool, latency column, seed) run appends one JSON line to ``runs/peers/nb201*.jsonl`` as
it finishes; a rerun skips the finished ones. The summary (median and quartiles of the HV ratio
at each budget, evaluations to 0.98 / 0.99, overhead per evaluation, repeated measurements) goes
to ``benchmarks/results/peers/peers_nb201.json`` with an HV-curve plot and a markdown table
beside it. Budgets 100 and 300 are the first 100 / 300 evaluations of each 500-evaluation run
(see docs/benchmarks/peers.md). The ``dynast-*`` tools run in DyNAS-T's own virtual environment
(``install_dynast.sh``), by the same script with ``--worker``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tailor.bench import nb201_scoring, plot_curves, score_trace
from tailor.errors import TailorError
from tailor.lab.ablate import NB201_COLUMNS
from tailor.lab.meta import write_result
from tailor.lab.peers.harness import progress_line, run_all, run_tool, trace_fields
from tailor.problems.nb201 import resolve_table

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TOOLS = ("tailor-default", "dynast-linas", "dynast-evolutionary", "dynast-random",
                 "optuna-nsga2", "optuna-tpe", "pymoo-nsga2", "random")
BUDGETS = ("100", "300", "500")


def run_item(table: str, accuracy_column: str, tool: str, column: str, seed: int, budget: int) -> dict:
    problem, ideal, ref, true_hv = nb201_scoring(table, accuracy_column, column)
    trace = run_tool(problem, tool, budget, seed)
    F = np.array([problem.evaluators[0].objective_vector(m) for m in trace.metrics])
    return {"tool": tool, "key": column, "seed": seed, **score_trace(F, ideal, ref, true_hv, budget),
            **trace_fields(trace)}


def summarise(results: list[dict]) -> list[dict]:
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        groups.setdefault((r["key"], r["tool"]), []).append(r)
    rows = []
    for (col, tool), rs in sorted(groups.items()):
        row = {"latency_column": col, "tool": tool, "seeds": len(rs), "budget": max(r["budget"] for r in rs)}
        for n in BUDGETS:
            vals = [r["hv_ratio"][n] for r in rs if n in r["hv_ratio"]]
            if vals:
                q1, med, q3 = np.percentile(vals, [25, 50, 75])
                row[f"hv@{n}"], row[f"hv@{n}_q1"], row[f"hv@{n}_q3"] = float(med), float(q1), float(q3)
        for q in ("98", "99"):
            med = float(np.median([r[f"evals_to_{q}"] or np.inf for r in rs]))
            row[f"evals_to_{q}"] = med if np.isfinite(med) else None
        row["overhead_ms_per_eval"] = float(np.median([r["overhead_s_per_eval"] for r in rs]) * 1000)
        row["repeats"] = float(np.median([r["repeats"] for r in rs]))
        rows.append(row)
    return rows


def report(results: list[dict], json_out: Path) -> None:
    rows = summarise(results)
    write_result(json_out, {"summary": rows, "results": results})
    longest = max(r["budget"] for r in results)
    plot_curves([dict(r, tactic=r["tool"], latency_column=r["key"]) for r in results if r["budget"] == longest],
                json_out.with_suffix(".png"))
    cols = ["hv@100", "hv@300", "hv@500", "evals_to_98", "evals_to_99", "overhead_ms_per_eval", "repeats"]
    print(f"{'column':>28} {'tool':>20} " + " ".join(f"{c:>10}" for c in cols))
    for r in rows:
        vals = [r.get(c) for c in cols]
        print(f"{r['latency_column']:>28} {r['tool']:>20} "
              + " ".join(f"{v:>10.4g}" if v is not None else f"{'-':>10}" for v in vals))
    json_out.with_suffix(".md").write_text(markdown(rows))
    print(f"wrote {json_out} and its .png and .md")


def _fmt(row: dict, n: str) -> str:
    if f"hv@{n}" not in row:
        return "-"
    return f"{row[f'hv@{n}']:.4f} ({row[f'hv@{n}_q1']:.3f}-{row[f'hv@{n}_q3']:.3f})"


def markdown(rows: list[dict]) -> str:
    """One table per latency column: median (quartiles) HV ratio, evaluations to 0.98 / 0.99."""
    out = []
    for col in dict.fromkeys(r["latency_column"] for r in rows):
        out += [f"**{col}**", "", "| tool | seeds | HV@100 | HV@300 | HV@500 | evals to 0.98 | evals to 0.99 "
                "| overhead ms/eval | repeats |", "|---|---:|---|---|---|---:|---:|---:|---:|"]
        for r in sorted((r for r in rows if r["latency_column"] == col), key=lambda r: -r.get("hv@100", 0)):
            reach = [f"{r[f'evals_to_{q}']:.0f}" if r[f"evals_to_{q}"] else f"> {r['budget']}" for q in ("98", "99")]
            out.append(f"| {r['tool']} | {r['seeds']} | {_fmt(r, '100')} | {_fmt(r, '300')} | {_fmt(r, '500')} | "
                       f"{reach[0]} | {reach[1]} | {r['overhead_ms_per_eval']:.1f} | {r['repeats']:.0f} |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tools", default=",".join(DEFAULT_TOOLS))
    ap.add_argument("--columns", default=",".join(NB201_COLUMNS), help="latency columns, comma-separated, or 'all'")
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--table", default=None)
    ap.add_argument("--accuracy-column", default="cifar10_test_acc")
    ap.add_argument("--jsonl", type=Path, default=ROOT / "runs" / "peers" / "nb201.jsonl")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "peers" / "peers_nb201.json")
    ap.add_argument("--no-report", action="store_true", help="run only; summarise later")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    table = str(resolve_table(args.table))
    import pandas as pd

    columns = ([c for c in pd.read_csv(table, nrows=1).columns if c.startswith("latency")]
               if args.columns == "all" else args.columns.split(","))
    items = [(t, c, s, args.budget) for t in args.tools.split(",") if t for c in columns for s in range(args.seeds)]
    try:
        results = run_all(__file__, run_item, items, args.jsonl, args.jobs, args.worker,
                          ["--columns", ",".join(columns), "--budget", str(args.budget), "--seeds", str(args.seeds),
                           "--table", table, "--accuracy-column", args.accuracy_column],
                          extra=(table, args.accuracy_column), root=ROOT,
                          on_result=lambda r: print(progress_line(r), flush=True))
    except TailorError as e:
        sys.exit(f"nb201_peers: error: {e}")
    if not args.worker and not args.no_report:
        report(results, args.json)


if __name__ == "__main__":
    main()
