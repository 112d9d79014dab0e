"""Options and helpers shared by the commands (one definition each)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from tailor.cli import console

TABLE = typer.Option(None, "--table", help="NB201-style CSV (default: $TAILOR_NB201_TABLE or the shared table).")
ACCURACY_COLUMN = typer.Option("cifar10_test_acc", "--accuracy-column", help="Table column holding accuracy (%).")


def progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console, transient=False,
    )


def print_table(title: str, rows: list[dict], columns: list[str]) -> None:
    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="right" if c not in ("tactic", "latency_column", "key") else "left")
    for r in rows:
        table.add_row(*[_fmt(r.get(c)) for c in columns])
    console.print(table)


def _fmt(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def table_path(table: Path | None) -> str | None:
    return None if table is None else str(table)
