"""The typer application: the root options and one module-level function per command."""

from __future__ import annotations

import logging

import typer

from tailor.cli import bench, evolve, export, profile, report, search, status, train

app = typer.Typer(add_completion=False, no_args_is_help=False, pretty_exceptions_enable=False,
                  help="Find, measure and export Pareto-optimal sub-networks.")
debug_mode = {"on": False}


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    verbose: int = typer.Option(0, "-v", "--verbose", count=True, help="More log output."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only warnings and errors."),
) -> None:
    debug_mode["on"] = debug
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


app.command("search")(search.search)
app.command("report")(report.report)
app.command("bench")(bench.bench)
app.command("train")(train.train)
app.command("export")(export.export)
app.command("evolve")(evolve.evolve)
app.command("profile")(profile.profile)
app.command("status")(status.status)
