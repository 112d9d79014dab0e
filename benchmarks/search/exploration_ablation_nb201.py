"""Ablation: does more exploration pull in the true-front cells the default tactic misses?

``previous``: the previous default tactic (below). ``calibrated-50`` / ``calibrated-80``: the ensemble's spread
rescaled per objective so that mean - spread covers 50 % / 80 % of its out-of-bag residuals
(the plain spread is far below the predictor's error on unmeasured front cells, see
``predictor_bias_nb201.py``). ``neighbour``: one pick per batch replaced by a random
unmeasured configuration one gene away from the measured front (``neighbours=1``).
All on the tactic that was the default then: ``live_edge_onehot`` features and no neighbour
pick (the default now has ``path_features`` and the neighbour pick; see
``features_ablation_nb201.py``). Same runs and scoring as ``tailor bench``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search/exploration_ablation_nb201.py \
        [--columns latency_ms_pixel3 --seeds 20 --jobs 2 --json OUT]

Writes ``benchmarks/results/search/exploration_ablation_nb201.json`` (docs/benchmarks/search.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from tailor.bench import summarise
from tailor.lab.ablate import ablate, ablation_table
from tailor.lab.meta import write_result
from tailor.predict import MLPEnsemblePredictor
from tailor.problems.nb201 import live_edge_onehot
from tailor.search import TailorTactic

OUT = Path(__file__).resolve().parents[1] / "results" / "search" / "exploration_ablation_nb201.json"


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


def make_variant(name: str) -> TailorTactic:
    """The variants as they ran, on the previous default (``live_edge_onehot``, no neighbour pick)."""
    if name == "neighbour":
        return TailorTactic(neighbours=1, features=live_edge_onehot)
    tactic = TailorTactic(neighbours=0, features=live_edge_onehot)
    tactic.predictor_cls = {"previous": MLPEnsemblePredictor, "calibrated-50": Calibrated50,
                            "calibrated-80": CalibratedEnsemble}[name]
    return tactic


VARIANTS = ("previous", "calibrated-50", "calibrated-80", "neighbour")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--columns", default="latency_ms_pixel3")
    ap.add_argument("--accuracy-column", default="cifar10_test_acc")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, default=OUT)
    args = ap.parse_args()
    results = ablate(make_variant, VARIANTS, args.columns.split(","), args.seeds, args.budget, args.jobs,
                     accuracy_column=args.accuracy_column)
    rows = summarise(results)
    print(ablation_table(rows))
    print(f"wrote {write_result(args.json, {'summary': rows, 'results': results})}")


if __name__ == "__main__":
    main()
