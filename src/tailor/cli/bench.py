"""`tailor bench`: compare tactics on a ground-truth table over several seeds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from tailor.cli._console import print_table, progress, say, writable_dir


def bench(
    problem: str = typer.Argument("nb201", help="Benchmark problem: nb201."),
    table: str = typer.Option(None, "--table", help="NB201 CSV (default: $TAILOR_NB201_TABLE or the shared table)."),
    accuracy_column: str = typer.Option("cifar10_test_acc", "--accuracy-column", help="Accuracy column(s) (%), "
                                        "comma-separated; the reference error is each one's 85th percentile."),
    latency_column: str = typer.Option("all", "--latency-column", help="Latency column(s), comma-separated, or "
                                       "'all'; join columns with + for one multi-objective problem "
                                       "(latency_ms_pixel3+latency_ms_gold_6226)."),
    tactics: str = typer.Option("random,evolutionary,linas,default", "--tactics", help="Comma-separated tactics."),
    budget: int = typer.Option(500, "--budget", help="Evaluations per run."),
    seeds: int = typer.Option(10, "--seeds", help="Seeds per tactic and column (0..N-1)."),
    jobs: int = typer.Option(1, "--jobs", help="Worker processes (overhead timings need 1)."),
    out: Path = typer.Option(Path("runs/bench/nb201.json"), "--out", help="Results JSON; the HV-curve PNG goes "
                             "beside it."),
) -> None:
    """Median hypervolume ratio to the true front at 50..500 evaluations, per problem and tactic."""
    from tailor import bench as B
    from tailor.errors import ConfigError
    from tailor.measure.machine import machine_info
    from tailor.parallel import check_workers
    from tailor.problems.nb201 import resolve_table
    from tailor.search import SearchSpec
    from tailor.study import check_budget

    if problem != "nb201":
        raise ConfigError("problem", f"unknown problem {problem!r}", ["nb201"])
    check_budget(budget)
    check_workers(jobs)
    if seeds < 1:
        raise ConfigError("seeds", f"must be >= 1, got {seeds}")
    names = [t.strip() for t in tactics.split(",") if t.strip()]
    for t in names:
        SearchSpec.parse(t).build()  # an unknown tactic fails now, not after the first runs
    table_file = str(resolve_table(table))
    if latency_column == "all":
        import pandas as pd

        cols = [c for c in pd.read_csv(table_file, nrows=1).columns if c.startswith("latency")]
        if not cols:
            raise ConfigError("latency_column", "'all' found no column named latency* in the table")
    else:
        cols = [c.strip() for c in latency_column.split(",") if c.strip()]
    accuracy_columns = [c.strip() for c in accuracy_column.split(",") if c.strip()]
    if not accuracy_columns:
        raise ConfigError("accuracy_column", "names no column")
    if out.is_dir():
        raise ConfigError("out", f"is a directory, expected a JSON file path: {out}")
    writable_dir("out", out.parent)
    total = len(accuracy_columns) * len(cols) * len(names) * seeds
    with progress() as bar:
        task = bar.add_task("bench", total=total, status="")
        results = B.run_nb201(
            table_file, accuracy_columns, cols, names, budget, seeds, jobs,
            on_result=lambda r: bar.update(task, advance=1, status=f"{r['tactic']} {B.problem_key(r)} s{r['seed']}"),
        )
    rows = B.summarise(results)
    json_path, plot = out, out.with_suffix(".png")
    json_path.write_text(json.dumps({"created": B.timestamp(), "machine": machine_info(), "command": sys.argv,
                                     "table": Path(table_file).name, "summary": rows, "results": results}, indent=1))
    B.plot_curves(results, plot)
    ns = [k for k in rows[0] if k.startswith("hv@")]
    print_table(f"median over {seeds} seeds (HV / true-front HV)", rows,
                [*(["accuracy_column"] if len(accuracy_columns) > 1 else []), "latency_column", "tactic", *ns,
                 "evals_to_99", "overhead_ms_per_eval"])
    say(f"wrote {json_path} and {plot}")
