"""Objectives: which metrics a search optimises, and in which direction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tailor.errors import ConfigError

DIRECTIONS = ("min", "max")


@dataclass(frozen=True)
class Objective:
    """A metric to optimise.

    Args:
        name: metric name, as an evaluator reports it.
        direction: 'min' or 'max'. Declared once here; everything in ``search/`` minimises.
    """

    name: str
    direction: str = "min"

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ConfigError(f"objective {self.name!r}.direction", f"got {self.direction!r}", DIRECTIONS)

    @property
    def sign(self) -> float:
        return 1.0 if self.direction == "min" else -1.0


def to_minimisation(metrics: Sequence[Mapping[str, float]], objectives: Sequence[Objective]) -> np.ndarray:
    """Metric dicts -> (n, m) array where every column is to be minimised."""
    return np.array(
        [[o.sign * float(m[o.name]) for o in objectives] for m in metrics], dtype=float
    ).reshape(len(metrics), len(objectives))
