"""Per-objective predictor choice by validation on the study's own measurements.

The default tactic's MLP ensemble was tuned on CIFAR-10 x seven latency columns; on other
accuracy columns and devices a tree model or an SVR can rank one objective better (LINAS wins
there because it picks its predictors by cross-validation). So, every few batches, each
candidate kind is scored by k-fold held-out Kendall tau on what has been measured, and each
objective keeps the ensemble unless another kind ranks it clearly better (by ``margin``). The
ensemble still supplies every objective's spread (the other kinds have none), so the
acquisition's optimism is unchanged; only the mean of a re-chosen objective comes from the
chosen kind.

Everything here is a pure function of the history and the study's seed (no draws from the
search's random stream), so a resumed study makes the same choices as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import kendalltau
from sklearn.model_selection import KFold

from tailor.predict import MLPEnsemblePredictor, make_predictor

ENSEMBLE = "mlp_ensemble"
# Besides the default's ensemble: ridge, LINAS's cheapest kind. On NB201 it ranks several devices'
# latencies far better than the ensemble (held-out Kendall tau 0.97 against 0.89 for fpga from 150
# random cells: latency there is close to a sum of per-op costs) and costs a few ms to fit and
# predict on the whole 15,625-cell pool; GBT and SVR cost 10-20x the ensemble there and never
# ranked clearly better in that check (``validation_scores`` takes any kinds, for ablations).
CANDIDATES = ("ridge",)


def _tau(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.nan_to_num(kendalltau(y, p).statistic))


def validation_scores(X: np.ndarray, Y: np.ndarray, candidates: Sequence[str], folds: int, seed: int,
                      ensemble: Callable[[int], MLPEnsemblePredictor]) -> dict[str, np.ndarray]:
    """Mean held-out Kendall tau per objective (column of ``Y``) of the ensemble (fitted to all
    objectives at once, as the tactic fits it) and of each other kind (one per objective)."""
    scores = {name: np.zeros(Y.shape[1]) for name in (ENSEMBLE, *candidates)}
    splits = list(KFold(folds, shuffle=True, random_state=seed).split(X))
    for tr, te in splits:
        mean, _ = ensemble(seed).fit(X[tr], Y[tr]).predict(X[te])
        scores[ENSEMBLE] += [_tau(Y[te, j], mean[:, j]) for j in range(Y.shape[1])]
        for name in candidates:
            for j in range(Y.shape[1]):
                p, _ = make_predictor(name, seed).fit(X[tr], Y[tr, j]).predict(X[te])
                scores[name][j] += _tau(Y[te, j], p)
    return {k: v / len(splits) for k, v in scores.items()}


def choose(scores: dict[str, np.ndarray], margin: float) -> list[str]:
    """Per objective: the best-scoring kind if it beats the ensemble by more than ``margin``,
    else the ensemble (ties go to the earlier kind in ``scores``)."""
    n_obj = len(scores[ENSEMBLE])
    out = []
    for j in range(n_obj):
        best = max(scores, key=lambda k: scores[k][j])
        out.append(best if scores[best][j] > scores[ENSEMBLE][j] + margin else ENSEMBLE)
    return out


@dataclass
class ValidatedModel:
    """The ensemble's spread for every objective, and the chosen kind's mean where it is not
    the ensemble: ``predict`` returns (mean, std), each (n, n_obj), as the ensemble does."""

    ensemble: MLPEnsemblePredictor
    others: dict[int, object]  # objective index -> fitted predictor
    blend: float = 1.0  # weight of the chosen kind's mean (the ensemble's gets the rest)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self.ensemble.predict(X)
        mean = np.array(mean, dtype=float, copy=True)
        for j, model in self.others.items():
            mean[:, j] = self.blend * model.predict(X)[0] + (1 - self.blend) * mean[:, j]
        return mean, std


def fit_chosen(ensemble: MLPEnsemblePredictor, X: np.ndarray, Y: np.ndarray, chosen: Sequence[str],
               seed: int, blend: float = 1.0) -> ValidatedModel:
    """Fit the kinds ``chosen`` (one per objective) beside the already-fitted ensemble; where one
    is not the ensemble, its mean gets weight ``blend`` (1: it replaces the ensemble's)."""
    others = {j: make_predictor(name, seed).fit(X, Y[:, j]) for j, name in enumerate(chosen) if name != ENSEMBLE}
    return ValidatedModel(ensemble, others, blend)
