"""What every benchmark result records about the run that produced it.

``run_metadata`` gives the git commit of the code, the machine (CPU model, cores, runtime
versions, load), the date and the exact command; ``write_result`` writes a result JSON with it
under the ``"meta"`` key, first.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# environment variables that change what a benchmark measures; recorded when set
RECORDED_ENV = ("OMP_NUM_THREADS", "TAILOR_CACHE_DIR", "TAILOR_NB201_TABLE", "DYNAST_VENV", "PYTHONHASHSEED")


def _git(*args: str) -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", *args], cwd=here, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def machine() -> dict[str, Any]:
    """CPU model, core count, OS and runtime versions, and the 1-minute load average."""
    from tailor.measure import machine as m

    info = m.machine_info()  # looked up at call time: a benchmark may have narrowed it
    cores = info.get("cpu_count")
    return {
        "cpu": info.get("cpu", "unknown"),
        "cores": int(cores) if cores and str(cores).isdigit() else cores,
        "system": info.get("system"),
        "python": sys.version.split()[0],
        "torch": info.get("torch"),
        "onnxruntime": info.get("onnxruntime"),
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def run_metadata(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``{"git_commit", "git_dirty", "machine", "date", "command"}`` for the current process.

    ``argv``: the command's arguments (default ``sys.argv``); the command is recorded as the
    interpreter, the arguments and the settings of ``RECORDED_ENV`` that are set, so that it
    can be pasted into a shell. The commit is ``"unknown"`` outside a git checkout.
    """
    argv = list(sys.argv if argv is None else argv)
    env = [f"{k}={shlex.quote(os.environ[k])}" for k in RECORDED_ENV if k in os.environ]
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": _git("rev-parse", "HEAD") or "unknown",
        "git_dirty": None if status is None else bool(status),
        "machine": machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([*env, shlex.join([sys.executable, *argv])]),
    }


def write_result(path: str | Path, payload: Mapping[str, Any], argv: Sequence[str] | None = None,
                 indent: int = 1) -> Path:
    """Write ``{"meta": run_metadata(argv), **payload}`` as JSON to ``path`` (folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": run_metadata(argv), **payload}, indent=indent) + "\n")
    return path
