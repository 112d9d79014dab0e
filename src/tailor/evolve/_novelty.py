"""Novelty search (Lehman & Stanley 2011; GA-NS in Such et al. 2017): an individual's novelty is
the mean Euclidean distance of its behaviour characterisation to its k nearest neighbours among
the archive and the current population (itself excluded)."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def novelty(behaviours: np.ndarray, archive: np.ndarray, k: int = 10) -> np.ndarray:
    """Novelty of each row of ``behaviours`` (n, d) against ``archive`` (m, d) and the other rows."""
    behaviours = np.asarray(behaviours, dtype=np.float64)
    archive = np.asarray(archive, dtype=np.float64).reshape(-1, behaviours.shape[1])
    pool = np.concatenate([behaviours, archive])
    kk = min(k + 1, len(pool))  # +1: each point finds itself at distance 0 first
    if kk <= 1:
        return np.zeros(len(behaviours))
    dist, _ = cKDTree(pool).query(behaviours, k=kk)
    return dist[:, 1:].mean(axis=1)


def ranks01(values: np.ndarray) -> np.ndarray:
    """Ranks scaled to [0, 1] (ties by position): the scale-free mix of reward and novelty."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return np.zeros(len(values))
    order = np.argsort(values, kind="stable")
    r = np.empty(len(values))
    r[order] = np.arange(len(values))
    return r / (len(values) - 1)
