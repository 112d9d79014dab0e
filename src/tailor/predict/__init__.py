"""Surrogates for objectives: ``fit(X, y)``, ``predict(X) -> (mean, std | None)``."""

from tailor.predict._auto import AutoPredictor, cross_validate, make_predictor
from tailor.predict._models import (
    PREDICTORS,
    GBTPredictor,
    MLPEnsemblePredictor,
    Predictor,
    RidgePredictor,
    SVRPredictor,
    score_predictor,
)

__all__ = [
    "PREDICTORS", "AutoPredictor", "GBTPredictor", "MLPEnsemblePredictor", "Predictor",
    "RidgePredictor", "SVRPredictor", "cross_validate", "make_predictor", "score_predictor",
]
