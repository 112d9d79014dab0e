"""The tactic contract, and helpers every tactic shares."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

import numpy as np

from tailor.search.history import History
from tailor.space import SearchSpace


class ExactObjectives(Protocol):
    """``(n, n_obj)`` minimised objective values for gene rows: exact where a cheap evaluator
    computes that objective, NaN where only a real evaluation can tell."""

    def __call__(self, genes: np.ndarray) -> np.ndarray: ...


class Tactic(ABC):
    """Proposes configurations to measure next.

    A tactic keeps no state between asks that is not derivable from the history: ``ask`` must
    return the same batch for the same history, ``n`` and rng seed. That is what makes a killed
    study resume to exactly the result of an uninterrupted one.
    """

    name: str = "tactic"

    def setup(self, space: SearchSpace, n_obj: int, seed: int, exact: ExactObjectives | None = None) -> None:
        """Called once before the first ask (and again on resume).

        ``exact``: the objectives that cheap evaluators compute (MACs, params) for any genes, so a
        tactic that scores candidates can use them instead of predicting them.
        """
        self.space, self.n_obj, self.seed, self.exact = space, n_obj, seed, exact

    def batch_size(self, history: History, budget: int) -> int:
        """How many configurations the next ask should propose (the study caps it by budget)."""
        return 10

    @abstractmethod
    def ask(self, history: History, n: int, rng: np.random.Generator) -> np.ndarray:
        """Return up to ``n`` gene vectors, none of them seen in the study, none repeated.

        Fewer than ``n`` only when the space has fewer unseen configurations left.
        """

    def describe(self) -> dict:
        """JSON-able settings, stored with the study."""
        return {"tactic": self.name}


def fill_unseen(history: History, candidates: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Take the first ``n`` unseen, distinct rows of ``candidates``; top up with random unseen ones."""
    space = history.space
    picked = history.unseen(candidates)[:n]
    tries = 0
    while len(picked) < n and tries < 50:
        tries += 1
        extra = space.sample_genes(rng, max(4 * (n - len(picked)), 16))
        picked = history.unseen(np.vstack([picked, extra]))[:n]
    if len(picked) < n:  # nearly exhausted: enumerate what is left, if we can
        every = space.enumerate_genes(limit=2_000_000)
        if every is not None:
            rest = history.unseen(np.vstack([picked, every]))
            picked = rest[:n]
    return picked


def unseen_pool(history: History, limit: int = 100_000) -> np.ndarray | None:
    """Every unseen configuration, when the space is small enough to enumerate; else None."""
    every = history.space.enumerate_genes(limit=limit)
    if every is None:
        return None
    return every[~history.is_seen(every)] if history.n_seen else every
