"""Per-objective model choice by cross-validated Kendall tau."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import KFold

from tailor.errors import UnknownNameError
from tailor.predict._models import PREDICTORS, Predictor, score_predictor


def make_predictor(name: str, seed: int = 0) -> Predictor:
    if name not in PREDICTORS:
        raise UnknownNameError("predictor", name, PREDICTORS)
    cls = PREDICTORS[name]
    return cls(seed=seed) if name in ("gbt", "mlp_ensemble") else cls()


def cross_validate(name: str, X: np.ndarray, y: np.ndarray, folds: int = 3, seed: int = 0) -> dict[str, float]:
    """Mean held-out Kendall tau and MAPE of one model kind over k folds."""
    scores = []
    for tr, te in KFold(folds, shuffle=True, random_state=seed).split(X):
        model = make_predictor(name, seed).fit(X[tr], y[tr])
        scores.append(score_predictor(y[te], model.predict(X[te])[0]))
    return {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}


class AutoPredictor(Predictor):
    """Fits each candidate kind under k-fold CV, keeps the best by Kendall tau, refits on all.

    ``cv_scores`` holds every candidate's held-out Kendall tau and MAPE for reporting.
    """

    name = "auto"

    def __init__(self, candidates: Sequence[str] = ("ridge", "svr", "gbt", "mlp_ensemble"),
                 folds: int = 3, seed: int = 0):
        for c in candidates:
            if c not in PREDICTORS:
                raise UnknownNameError("predictor", c, PREDICTORS)
        self.candidates, self.folds, self.seed = tuple(candidates), folds, seed
        self.cv_scores: dict[str, dict[str, float]] = {}
        self.chosen: str | None = None

    def fit(self, X: np.ndarray, y: np.ndarray) -> AutoPredictor:
        X, y = np.asarray(X, float), np.asarray(y, float)
        if len(self.candidates) == 1 or len(y) < 2 * self.folds:
            self.chosen = self.candidates[0]
        else:
            self.cv_scores = {c: cross_validate(c, X, y, self.folds, self.seed) for c in self.candidates}
            self.chosen = max(self.candidates, key=lambda c: self.cv_scores[c]["kendall_tau"])
        self._model = make_predictor(self.chosen, self.seed).fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return self._model.predict(X)
