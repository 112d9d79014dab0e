"""Pareto fronts and hypervolume (moocore's exact algorithms); everything here minimises."""

from __future__ import annotations

import moocore
import numpy as np


def pareto_mask(F: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``F`` (duplicates of a front point all kept)."""
    F = np.asarray(F, dtype=float)
    if len(F) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(moocore.is_nondominated(F, keep_weakly=True), dtype=bool)


def normalise(F: np.ndarray, ideal: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Scale each objective so that ``ideal`` maps to 0 and ``ref`` to 1."""
    span = np.where(np.asarray(ref) - np.asarray(ideal) > 0, np.asarray(ref) - np.asarray(ideal), 1.0)
    return (np.asarray(F, dtype=float) - ideal) / span


def hypervolume(F: np.ndarray, ref: np.ndarray, ideal: np.ndarray | None = None) -> float:
    """Hypervolume of the points of ``F`` that dominate ``ref``; normalised first if ``ideal`` is given."""
    F = np.asarray(F, dtype=float).reshape(-1, len(ref))
    ref = np.asarray(ref, dtype=float)
    if ideal is not None:
        F, ref = normalise(F, ideal, ref), np.ones_like(ref)
    F = F[np.all(ref > F, axis=1)]
    if len(F) == 0:
        return 0.0
    return float(moocore.hypervolume(F, ref=ref))


def hypervolume_curve(
    F: np.ndarray, ref: np.ndarray, ideal: np.ndarray | None = None, at: list[int] | None = None
) -> np.ndarray:
    """Hypervolume of the first n rows of ``F`` for each n in ``at`` (default: every n)."""
    F = np.asarray(F, dtype=float)
    at = list(range(1, len(F) + 1)) if at is None else at
    return np.array([hypervolume(F[: min(n, len(F))], ref, ideal) for n in at])
