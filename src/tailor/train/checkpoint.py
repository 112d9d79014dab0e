"""Checkpoints written atomically: a temp file in the same folder, then ``os.replace``.

A crash mid-write leaves the previous checkpoint intact. A file that cannot be read (truncated,
not a checkpoint, written by another tool) raises ``ConfigError`` instead of a pickle traceback.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from tailor.errors import ConfigError

CHECKPOINT_NAME = "last.pt"
FORMAT = "tailor.train/1"
REQUIRED = (
    "format",
    "model",
    "optimizer",
    "epoch",
    "step",
    "config",
    "path_sampler",
    "data_sampler",
    "rng",
)


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (plus a format tag) to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({**state, "format": FORMAT}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint``; ``ConfigError`` if it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("checkpoint", f"file not found: {path}")
    try:
        # weights_only=False: the state holds NumPy RNG states and plain dicts we wrote ourselves
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # truncated zip, pickle garbage, wrong format...
        raise ConfigError(
            "checkpoint", f"cannot read {path} ({type(e).__name__}); delete it or pass --no-resume"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ConfigError("checkpoint", f"{path} is not a tailor training checkpoint")
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise ConfigError("checkpoint", f"{path} lacks {missing[0]!r}")
    return state
