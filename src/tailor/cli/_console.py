"""What the commands share for output: the consoles, one progress bar, tables, key=value options."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from tailor.errors import ConfigError

err = Console(stderr=True)  # messages, progress and tables: stdout stays for paths a script reads
out = Console()


def say(message: str) -> None:
    err.print(message, markup=False, highlight=False, soft_wrap=True)


def progress(transient: bool = False) -> Progress:
    """The one progress bar: description, bar, done/total, a status field, elapsed and remaining."""
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err, transient=transient,
    )


def print_table(title: str, rows: list[dict], columns: list[str]) -> None:
    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="left" if c in ("tactic", "latency_column", "key", "check", "status") else "right")
    for r in rows:
        table.add_row(*[_fmt(r.get(c)) for c in columns])
    err.print(table)


def _fmt(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def key_values(field: str, items: Sequence[str] | None) -> dict[str, Any]:
    """``["k=v", ...]`` as a dict; each value read as JSON when it parses (numbers, lists, null), else
    kept as text."""
    outd: dict[str, Any] = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(field, f"expected KEY=VALUE, got {item!r}")
        try:
            outd[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            outd[key.strip()] = text
    return outd


def writable_dir(field: str, path: Path) -> Path:
    """Create ``path`` as a directory (parents too), or say in one line why it cannot be."""
    if path.exists() and not path.is_dir():
        raise ConfigError(field, f"not a directory: {path}")
    path.mkdir(parents=True, exist_ok=True)  # OSError (a parent is a file, read-only, ...): one line in main
    return path


def print_verification(result: Any, out_dir: Path, strict: bool) -> None:
    """The re-measured export as a table; a quality mismatch is an error when ``strict`` (exit 2,
    after the files are written), else a warning. A latency outside the tolerance is a warning."""
    from tailor.export import LATENCY_TOLERANCE, VERIFY_NAME

    rows = [{"check": c.metric, "study": c.study, "exported": c.exported, "ratio": c.ratio,
             "measured on": c.measured_on, "rule": c.rule,
             "status": "ok" if c.ok else ("MISMATCH" if c.severity == "error" else "warning")}
            for c in result.checks]
    print_table(f"verification ({out_dir / VERIFY_NAME})", rows,
                ["check", "study", "exported", "ratio", "measured on", "rule", "status"])
    for c in result.warnings:
        say(f"warning: {c.metric} re-measured {c.exported:.4g} vs {c.study:.4g} in the study "
            f"(outside {LATENCY_TOLERANCE:.0%}); latency is noisy on a busy machine")
    if result.errors:
        c = result.errors[0]
        why = (f"the exported model measures {c.metric}={c.exported:.6g} but the study recorded {c.study} "
               f"(rule: {c.rule}; see {out_dir / VERIFY_NAME})")
        if strict:
            raise ConfigError("verify", why)
        say(f"warning: verify: {why}")
