"""Ablation: does more exploration pull in the true-front cells the default tactic misses?

``default``: the default tactic. ``calibrated-50`` / ``calibrated-80``: the ensemble's spread
rescaled per objective so that mean - spread covers 50 % / 80 % of its out-of-bag residuals
(the plain spread is far below the predictor's error on unmeasured front cells, see
``predictor_bias_nb201.py``). ``neighbour``: one pick per batch replaced by a random
unmeasured configuration one gene away from the measured front. Same runs and scoring as
``tailor bench``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search/exploration_ablation_nb201.py \
        [--columns latency_ms_pixel3 --seeds 20 --jobs 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from tailor.bench import ablate
from tailor.predict import MLPEnsemblePredictor
from tailor.search import TailorTactic, pareto_mask
from tailor.search.base import fill_unseen

OUT = Path(__file__).resolve().parents[1] / "results" / "exploration_ablation_nb201.json"


class CalibratedEnsemble(MLPEnsemblePredictor):
    """Spread multiplied per objective by the ``coverage`` quantile of |out-of-bag residual| / spread."""

    coverage = 0.8

    def _fit(self, X, z):
        super()._fit(X, z)
        with torch.no_grad():
            P = self._forward(torch.as_tensor(X, dtype=torch.float32)).numpy().astype(float)  # (E, n, m)
        out_of_bag = (self._weights == 0).numpy()
        count = out_of_bag.sum(axis=0)
        has = count > 0
        oob_mean = (P * out_of_bag[:, :, None]).sum(axis=0)[has] / count[has, None]
        residual = np.abs(np.asarray(z, dtype=float).reshape(len(X), -1)[has] - oob_mean)
        self._factor = np.quantile(residual / (P.std(axis=0)[has] + 1e-9), self.coverage, axis=0)

    def _predict(self, X):
        mean, std = super()._predict(X)
        return mean, std * (self._factor if self._multi else self._factor[0])


class Calibrated50(CalibratedEnsemble):
    coverage = 0.5


def one_gene_away(space, genes: np.ndarray) -> np.ndarray:
    """Every configuration that differs from a row of ``genes`` in exactly one gene."""
    out = []
    for j, k in enumerate(space.cardinalities):
        for offset in range(1, int(k)):
            child = genes.copy()
            child[:, j] = (child[:, j] + offset) % k
            out.append(child)
    return np.vstack(out)


class NeighbourTactic(TailorTactic):
    """The default tactic's batch less one pick, plus a random unmeasured front neighbour."""

    def ask(self, history, n, rng):
        chosen = super().ask(history, max(n - 1, 1), rng)
        if len(history) < 5:
            return fill_unseen(history, chosen, n, rng)
        front = history.genes[pareto_mask(history.F)]
        near = history.unseen(np.vstack([chosen, one_gene_away(self.space, front)]))[len(chosen):]
        return fill_unseen(history, np.vstack([chosen, near[rng.permutation(len(near))[:1]]]), n, rng)


def make_variant(name: str) -> TailorTactic:
    if name == "neighbour":
        return NeighbourTactic()
    tactic = TailorTactic()
    tactic.predictor_cls = {"default": MLPEnsemblePredictor, "calibrated-50": Calibrated50,
                            "calibrated-80": CalibratedEnsemble}[name]
    return tactic


VARIANTS = ("default", "calibrated-50", "calibrated-80", "neighbour")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--columns", default="latency_ms_pixel3")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    ablate(make_variant, VARIANTS, args.columns.split(","), args.seeds, args.budget, args.jobs, OUT)


if __name__ == "__main__":
    main()
