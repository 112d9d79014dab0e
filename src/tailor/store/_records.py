"""Immutable records the store hands out; nothing else in tailor mutates trial state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WAITING, COMPLETE, FAIL = "WAITING", "COMPLETE", "FAIL"
STATES = (WAITING, COMPLETE, FAIL)


@dataclass(frozen=True)
class TrialRecord:
    """One planned or finished evaluation of a configuration.

    ``number`` is the order in which the trial was planned; ``batch`` the index of the ``ask``
    that proposed it. A WAITING trial was planned but not finished (the process may have died):
    a resumed study evaluates it before asking for more.
    """

    id: int
    number: int
    batch: int
    key: str
    config: dict[str, Any]
    state: str
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    duration_s: float | None = None
    tactic: str = ""
    seed: int = 0
    # Who works on it: the process holding its lease (WAITING) or that stored it, the worker that
    # measured it, when it was claimed and until when the lease holds (seconds since the epoch).
    owner: str | None = None
    worker: str | None = None
    claimed: float | None = None
    lease_until: float | None = None


@dataclass(frozen=True)
class StudyRecord:
    id: int
    name: str
    settings: dict[str, Any]
