"""The command line: the only code that prints or exits.

Each sub-module registers its commands on ``app``. A ``TailorError`` (bad input) becomes one line
``tailor: error: <field>: <why> (allowed: ...)`` and exit code 2; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer
from rich.console import Console

from tailor.errors import TailorError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Find, measure and export Pareto-optimal sub-networks.")
console = Console(stderr=True)
_COMMAND_MODULES = ("search", "report", "bench", "train", "export")
_state = {"debug": False}


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    verbose: int = typer.Option(0, "-v", "--verbose", count=True, help="More log output."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only warnings and errors."),
) -> None:
    _state["debug"] = debug
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


for _name in _COMMAND_MODULES:
    importlib.import_module(f"tailor.cli.{_name}").register(app)


def fail(message: str) -> None:
    """Print one error line and exit 2 (for CLI-level checks that are not TailorErrors)."""
    console.print(f"tailor: error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the typer app, mapping user errors to one line and exit code 2."""
    try:
        app(args=argv, standalone_mode=False)
    except TailorError as e:
        if _state["debug"]:
            raise
        console.print(f"tailor: error: {e}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        console.print("tailor: aborted", markup=False)
        return 130
    except KeyboardInterrupt:
        console.print("tailor: interrupted; rerun the same command to resume", markup=False)
        return 130
    except Exception as e:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(e, click.exceptions.ClickException):
            console.print(f"tailor: error: {e.format_message()}", markup=False, highlight=False, soft_wrap=True)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
