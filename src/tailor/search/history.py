"""What a tactic sees of a study: measured configurations as gene and objective matrices."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tailor.space import SearchSpace


@dataclass
class History:
    """Finished trials in planning order, in the form the tactics' vectorised code wants.

    Attributes:
        genes: (n, n_genes) choice indices of completed trials.
        F: (n, n_obj) objective values of those trials, every column to be minimised.
        batches: (n,) index of the ask that proposed each completed trial.
        failed_genes: (k, n_genes) gene vectors of failed trials.
        n_batches: number of asks so far.
    Every configuration in the study, failed ones included, is "seen": a tactic must never
    propose it again (``unseen`` filters candidates).
    """

    space: SearchSpace
    n_obj: int
    genes: np.ndarray = field(init=False)
    F: np.ndarray = field(init=False)
    batches: np.ndarray = field(init=False)
    failed_genes: np.ndarray = field(init=False)
    failed_batches: np.ndarray = field(init=False)
    n_batches: int = 0
    _seen: set = field(default_factory=set)

    def __post_init__(self) -> None:
        self.genes = np.empty((0, self.space.n_genes), dtype=np.int64)
        self.F = np.empty((0, self.n_obj))
        self.batches = np.empty(0, dtype=np.int64)
        self.failed_genes = np.empty((0, self.space.n_genes), dtype=np.int64)
        self.failed_batches = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.genes)

    @property
    def n_seen(self) -> int:
        return len(self._seen)

    def add(self, genes: np.ndarray, f: np.ndarray | None, batch: int) -> None:
        """Record one finished trial (``f`` is None for a failed one)."""
        genes = np.asarray(genes, dtype=np.int64)
        self._seen.add(self.space.identity(genes)[0])
        self.n_batches = max(self.n_batches, batch + 1)
        if f is None:
            self.failed_genes = np.vstack([self.failed_genes, genes[None, :]])
            self.failed_batches = np.append(self.failed_batches, batch)
            return
        self.genes = np.vstack([self.genes, genes[None, :]])
        self.F = np.vstack([self.F, np.asarray(f, dtype=float)[None, :]])
        self.batches = np.append(self.batches, batch)

    def is_seen(self, genes: np.ndarray) -> np.ndarray:
        ids = self.space.identity(genes)
        return np.array([i in self._seen for i in ids], dtype=bool)

    def unseen(self, genes: np.ndarray) -> np.ndarray:
        """The rows of ``genes`` not in the study and not repeated, first occurrence kept."""
        genes = np.atleast_2d(genes)
        if len(genes) == 0:
            return genes
        ids = self.space.identity(genes)
        keep, taken = [], set(self._seen)
        for i, k in enumerate(ids):
            if k not in taken:
                taken.add(k)
                keep.append(i)
        return genes[keep]

    def batch(self, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Genes, objective values and feasibility of batch ``b`` (failed ones get the worst F)."""
        ok = self.batches == b
        bad = self.failed_batches == b
        worst = self.F.max(axis=0) if len(self.F) else np.zeros(self.n_obj)
        genes = np.vstack([self.genes[ok], self.failed_genes[bad]])
        F = np.vstack([self.F[ok], np.tile(worst, (int(bad.sum()), 1))])
        feasible = np.r_[np.ones(int(ok.sum()), bool), np.zeros(int(bad.sum()), bool)]
        return genes, F, feasible
