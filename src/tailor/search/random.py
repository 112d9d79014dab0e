"""Uniform random search: the baseline every other tactic has to beat."""

from __future__ import annotations

import numpy as np

from tailor.search.base import Tactic, fill_unseen
from tailor.search.history import History


class RandomTactic(Tactic):
    name = "random"

    def batch_size(self, history: History, budget: int) -> int:
        return 50

    def ask(self, history: History, n: int, rng: np.random.Generator) -> np.ndarray:
        return fill_unseen(history, np.empty((0, self.space.n_genes), dtype=np.int64), n, rng)
