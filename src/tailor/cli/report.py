"""`tailor report`: summarise a stored study; optionally write its JSON or check its integrity."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tailor.cli._console import print_table, say, writable_dir


def report(
    study: str = typer.Argument(..., help="Study file (SQLite) or SQLAlchemy URL."),
    name: str = typer.Option(None, "--name", help="Study name, if the store holds several."),
    json_out: Path = typer.Option(None, "--json", help="Write {objectives, evaluations, front} JSON here."),
    check: bool = typer.Option(False, "--check", help="Run the store's full integrity check first."),
) -> None:
    """Print the Pareto front of a study and, with --json, write every evaluation."""
    from tailor.errors import ConfigError
    from tailor.results import objectives_of
    from tailor.results import report as build_report
    from tailor.store import open_existing_store

    store = open_existing_store(study)
    if json_out:
        writable_dir("json", json_out.parent)
    if check:
        problems = store.check(full=True)
        if problems:
            raise ConfigError("study", f"{store.where}: damaged ({'; '.join(problems[:3])})")
        say(f"{store.where}: integrity check passed")
    record = store.load_study(name)
    objectives = objectives_of(record.settings)
    data = build_report(store.trials(record.id, ("COMPLETE", "FAIL")), objectives)
    names = [o.name for o in objectives]
    rows = [{"key": r["key"], **{n: r["metrics"][n] for n in names}} for r in data["front"]]
    print_table(f"study {record.name!r}: front {len(rows)} of {len(data['evaluations'])} evaluations",
                rows, ["key", *names])
    if json_out:
        json_out.write_text(json.dumps(data, indent=1))
        say(f"wrote {json_out}")
