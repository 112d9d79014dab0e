"""How much memory an optimizer's state takes, and the process's peak resident memory."""

from __future__ import annotations

import sys
from typing import Any

import torch


def _storages(value: Any) -> list[tuple[int, int]]:
    if isinstance(value, torch.Tensor):
        storage = value.untyped_storage()
        return [(storage.data_ptr(), storage.nbytes())]
    return []


def state_bytes(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Bytes of the tensors an optimizer keeps per parameter (moments, bases, norms).

    Works on any ``torch.optim.Optimizer`` (``torch.optim.AdamW`` included, whose 0-d ``step``
    tensors count 4 bytes each), so runs with different optimizers report the same quantity.
    Each tensor in ``optimizer.state`` counts the memory it keeps alive: its whole storage,
    counted once even when two entries share it, so a view of a larger tensor counts the larger
    tensor. Python scalars (tailor's step counters) take no tensor memory and are not counted;
    parameters, gradients and activations are not optimizer state and are not counted either.

    Returns:
        ``{"total": int, "groups": [int, ...]}``, one entry per param group, in bytes.
    """
    groups = []
    seen: set[int] = set()
    for group in optimizer.param_groups:
        total = 0
        for p in group["params"]:
            for value in optimizer.state.get(p, {}).values():
                for ptr, nbytes in _storages(value):
                    if ptr not in seen:  # a storage shared by two entries is counted once
                        seen.add(ptr)
                        total += nbytes
        groups.append(total)
    return {"total": sum(groups), "groups": groups}


def peak_rss_bytes() -> int | None:
    """Peak resident set size of this process so far, in bytes (``None`` where unsupported)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024
