"""Predictors learn, report held-out rank quality, and the MLP ensemble's spread means something."""

import numpy as np
import pytest
import torch

from tailor.errors import ConfigError
from tailor.predict import PREDICTORS, AutoPredictor, MLPEnsemblePredictor, make_predictor, score_predictor
from tailor.predict._models import _adam_step


def _toy(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One-hot genes (8 genes x 4 choices), an additive target with one interaction, like NB201."""
    rng = np.random.default_rng(seed)
    genes = rng.integers(0, 4, size=(n, 8))
    X = np.eye(4)[genes].reshape(n, -1)
    effect = np.random.default_rng(99).normal(size=(8, 4))
    y = effect[np.arange(8), genes].sum(1) + 0.5 * (genes[:, 0] == genes[:, 1]) + rng.normal(0, 0.1, n)
    return X, y


@pytest.mark.parametrize("name", sorted(PREDICTORS))
def test_each_predictor_ranks_held_out_points(name):
    X, y = _toy(300)
    model = make_predictor(name, seed=0).fit(X[:200], y[:200])
    mean, std = model.predict(X[200:])
    assert mean.shape == (100,)
    assert score_predictor(y[200:], mean)["kendall_tau"] > 0.7
    assert (std is not None) == (name == "mlp_ensemble")


def test_score_predictor_values():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert score_predictor(y, y) == {"kendall_tau": 1.0, "mape": 0.0}
    s = score_predictor(y, y[::-1] * 1.0)
    assert s["kendall_tau"] == -1.0 and s["mape"] == pytest.approx(np.mean([3, 1 / 2, 1 / 3, 3 / 4]) * 100)


def test_mlp_ensemble_is_less_sure_away_from_its_data():
    X, y = _toy(200)
    model = MLPEnsemblePredictor(seed=0).fit(X, y)
    _, near = model.predict(X[:50])
    _, far = model.predict(3.0 * X[:50] + 1.0)  # far outside the one-hot training inputs
    assert np.median(far) > 3 * np.median(near)


def test_mlp_ensemble_fits_several_objectives_at_once_and_is_seeded():
    X, y = _toy(150)
    Y = np.stack([y, -2.0 * y + 5.0], axis=1)
    a_mean, a_std = MLPEnsemblePredictor(seed=1).fit(X, Y).predict(X)
    b_mean, _ = MLPEnsemblePredictor(seed=1).fit(X, Y).predict(X)
    assert a_mean.shape == a_std.shape == (150, 2)
    np.testing.assert_array_equal(a_mean, b_mean)
    assert score_predictor(Y[:, 1], a_mean[:, 1])["kendall_tau"] > 0.8


def test_adam_step_matches_torch_adam_exactly():
    g = torch.Generator().manual_seed(0)
    ours = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g)]
    theirs = [p.clone().requires_grad_() for p in ours]
    opt = torch.optim.Adam(theirs, lr=0.03, weight_decay=1e-3, foreach=True)
    moments = [torch.zeros_like(p) for p in ours], [torch.zeros_like(p) for p in ours]
    for t in range(1, 21):
        grads = [torch.randn(p.shape, generator=g) for p in ours]
        for p, gr in zip(theirs, grads, strict=True):
            p.grad = gr.clone()
        opt.step()
        _adam_step(ours, grads, *moments, t, 0.03, 1e-3)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b.detach())


def test_auto_predictor_reports_every_candidate_and_keeps_the_best():
    X, y = _toy(120)
    auto = AutoPredictor(candidates=("ridge", "gbt"), seed=0).fit(X, y)
    assert set(auto.cv_scores) == {"ridge", "gbt"}
    best = max(auto.cv_scores, key=lambda c: auto.cv_scores[c]["kendall_tau"])
    assert auto.chosen == best
    assert all({"kendall_tau", "mape"} <= set(s) for s in auto.cv_scores.values())


def test_unknown_predictor_names_the_field():
    with pytest.raises(ConfigError, match="predictor"):
        AutoPredictor(candidates=("ridge", "xgboost"))
