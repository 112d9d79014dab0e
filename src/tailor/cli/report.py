"""`tailor report`: summarise a stored study; optionally write its JSON."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tailor.cli import console
from tailor.cli._common import print_table
from tailor.errors import ConfigError


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        study: str = typer.Argument(..., help="Study file (SQLite) or SQLAlchemy URL."),
        name: str = typer.Option(None, "--name", help="Study name, if the store holds several."),
        json_out: Path = typer.Option(None, "--json", help="Write {evaluations, front} JSON here."),
    ) -> None:
        """Print the Pareto front of a study and, with --json, write every evaluation."""
        from tailor.results import objectives_of
        from tailor.results import report as build_report
        from tailor.store import open_store

        if "://" not in study and not Path(study).is_file():
            raise ConfigError("study", f"file not found: {study}")
        store = open_store(study)
        record = store.load_study(name)
        objectives = objectives_of(record.settings)
        data = build_report(store.trials(record.id, ("COMPLETE", "FAIL")), objectives)
        names = [o.name for o in objectives]
        rows = [{"key": r["key"], **{n: r["metrics"][n] for n in names}} for r in data["front"]]
        print_table(f"study {record.name!r}: front {len(rows)} of {len(data['evaluations'])} evaluations",
                    rows, ["key", *names])
        if json_out:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(data, indent=1))
            console.print(f"wrote {json_out}")
