"""The command line: the only code that prints or exits.

``main`` maps every failure a user can cause to one line on stderr and an exit code, whatever the
installed typer / click version raises: bad input (a ``TailorError``, a usage error, a file-system
fault) exits 2, Ctrl-C 130 and SIGTERM 143 ("rerun the same command to resume"), a worker process
that died 1. ``--debug`` re-raises with the traceback.
"""

from __future__ import annotations

import signal
import sys
import threading
from concurrent.futures.process import BrokenProcessPool

import typer

from tailor.errors import TailorError

RESUME_HINT = "rerun the same command to resume"


class Interrupted(BaseException):
    """Raised by our signal handlers instead of ``KeyboardInterrupt``, which click would turn
    into its own ``Abort`` (and a blank line) before we see it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _usage_error_types() -> tuple[type[BaseException], ...]:
    """Click's exception base class as this typer uses it: typer >= 0.24 ships its own copy of
    click, older ones use click itself, so take it from typer's public ``BadParameter``."""
    found = [c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"]
    try:
        import click

        found.append(click.ClickException)
    except ImportError:  # pragma: no cover - typer with its own click only
        pass
    return tuple(dict.fromkeys(found))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _say(message: str) -> None:
    print(f"tailor: error: {_one_line(message)}", file=sys.stderr, flush=True)


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and turn every user-caused failure into one line and an exit code."""
    from tailor.cli.app import app, debug_mode

    previous = {}
    if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
        previous = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = app(args=argv, prog_name="tailor", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except Interrupted as e:
        print(f"tailor: interrupted; {RESUME_HINT}", file=sys.stderr, flush=True)
        return 130 if e.signum == signal.SIGINT else 143
    except TailorError as e:
        if debug_mode["on"]:
            raise
        _say(str(e))
        return 2
    except BrokenProcessPool:
        if debug_mode["on"]:
            raise
        _say(f"a worker process died (killed, or out of memory); finished evaluations are stored: {RESUME_HINT}")
        return 1
    except OSError as e:  # a file-system fault: the path and the cause, no traceback
        if debug_mode["on"]:
            raise
        where = f"{e.filename}: " if e.filename else ""
        _say(f"{where}{e.strerror or e}")
        return 2
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        print(f"tailor: interrupted; {RESUME_HINT}", file=sys.stderr, flush=True)
        return 130
    except _usage_error_types() as e:
        command = getattr(getattr(e, "ctx", None), "command_path", None) or "tailor"
        _say(f"{e.format_message()} (see '{command} --help')")
        return 2
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


__all__ = ["RESUME_HINT", "main"]
