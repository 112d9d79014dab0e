"""`tailor bench`: compare tactics on a ground-truth table over several seeds."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tailor.cli import console
from tailor.cli._common import ACCURACY_COLUMN, TABLE, print_table, progress, table_path
from tailor.errors import ConfigError


def register(app: typer.Typer) -> None:
    @app.command()
    def bench(
        problem: str = typer.Argument("nb201", help="Benchmark problem: nb201."),
        table: Path = TABLE,
        accuracy_column: str = ACCURACY_COLUMN,
        latency_column: str = typer.Option("all", "--latency-column",
                                           help="Latency column(s), comma-separated, or 'all'."),
        tactics: str = typer.Option("random,evolutionary,linas,default", "--tactics"),
        budget: int = typer.Option(500, "--budget"),
        seeds: int = typer.Option(10, "--seeds"),
        jobs: int = typer.Option(1, "--jobs", help="Worker processes (overhead timings need 1)."),
        json_out: Path = typer.Option(Path("benchmarks/results/nb201.json"), "--json"),
        plot: Path = typer.Option(None, "--plot", help="HV-curve PNG; default beside the JSON."),
    ) -> None:
        """Median hypervolume ratio to the true front at 50..500 evaluations, per tactic."""
        from tailor import bench as B
        from tailor.problems.nb201 import resolve_table

        if problem != "nb201":
            raise ConfigError("problem", f"unknown problem {problem!r}", ["nb201"])
        if budget < 1:
            raise ConfigError("budget", f"must be >= 1, got {budget}")
        table_file = str(resolve_table(table_path(table)))
        if latency_column == "all":
            import pandas as pd

            cols = [c for c in pd.read_csv(table_file, nrows=1).columns if c.startswith("latency")]
            if not cols:
                raise ConfigError("latency_column", "'all' found no column named latency* in the table")
        else:
            cols = [c.strip() for c in latency_column.split(",") if c.strip()]
        names = [t.strip() for t in tactics.split(",") if t.strip()]
        total = len(cols) * len(names) * seeds
        with progress() as bar:
            task = bar.add_task("bench", total=total, status="")
            results = B.run_nb201(
                table_file, accuracy_column, cols, names, budget, seeds, jobs,
                on_result=lambda r: bar.update(
                    task, advance=1, status=f"{r['tactic']} {r['latency_column']} s{r['seed']}"
                ),
            )
        rows = B.summarise(results)
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({"created": B.timestamp(), "table": Path(table_file).name,
                                        "summary": rows, "results": results}, indent=1))
        plot = plot or json_out.with_suffix(".png")
        B.plot_curves(results, plot)
        ns = [k for k in rows[0] if k.startswith("hv@")]
        print_table(f"median over {seeds} seeds (HV / true-front HV)", rows,
                    ["latency_column", "tactic", *ns, "evals_to_99", "overhead_ms_per_eval"])
        console.print(f"wrote {json_out} and {plot}")
