"""Per-objective predictor choice by validation on the measured data (``tailor.search.validate``)."""

import numpy as np
import pytest

from tailor.errors import ConfigError
from tailor.predict import MLPEnsemblePredictor
from tailor.search import SearchSpec, validate
from tailor.search.tailored import TailorTactic
from tailor.store import COMPLETE, open_store
from tailor.study import Study
from tailor.testing import toy_problem


def test_choose_keeps_the_ensemble_unless_beaten_by_more_than_the_margin():
    scores = {"mlp_ensemble": np.array([0.70, 0.80, 0.90]), "ridge": np.array([0.75, 0.81, 0.60]),
              "gbt": np.array([0.72, 0.95, 0.50])}
    assert validate.choose(scores, 0.0) == ["ridge", "gbt", "mlp_ensemble"]
    assert validate.choose(scores, 0.02) == ["ridge", "gbt", "mlp_ensemble"]  # 0.05 and 0.15 ahead
    assert validate.choose(scores, 0.06) == ["mlp_ensemble", "gbt", "mlp_ensemble"]
    assert validate.choose(scores, 0.2) == ["mlp_ensemble"] * 3
    tie = {"mlp_ensemble": np.array([0.5]), "ridge": np.array([0.5])}
    assert validate.choose(tie, 0.0) == ["mlp_ensemble"]


def _data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.random((n, 12)) < 0.5).astype(float)
    linear = X @ np.linspace(0.2, 2.0, 12)  # like a latency: a sum of per-op costs
    bumpy = np.sin(3 * X[:, 0] + 2 * X[:, 1] * X[:, 2]) + (X[:, 3] * X[:, 4])  # interactions only
    return X, np.c_[linear, bumpy]


def test_validation_scores_find_ridge_for_a_linear_objective_and_are_deterministic():
    X, Y = _data()
    ens = lambda s: MLPEnsemblePredictor(seed=s)  # noqa: E731
    scores = validate.validation_scores(X, Y, ("ridge",), 3, seed=4, ensemble=ens)
    again = validate.validation_scores(X, Y, ("ridge",), 3, seed=4, ensemble=ens)
    for k in scores:
        np.testing.assert_array_equal(scores[k], again[k])
    assert scores["ridge"][0] > 0.97  # an exact linear fit ranks held-out points almost perfectly
    assert scores["ridge"][0] > scores["mlp_ensemble"][0] + 0.02
    assert scores["mlp_ensemble"][1] > scores["ridge"][1]  # ridge cannot see the interactions
    assert validate.choose(scores, 0.0) == ["ridge", "mlp_ensemble"]


def test_validated_model_takes_the_chosen_mean_and_the_ensembles_spread():
    X, Y = _data()
    ens = MLPEnsemblePredictor(seed=1).fit(X, Y)
    model = validate.fit_chosen(ens, X, Y, ["ridge", "mlp_ensemble"], seed=1)
    mean, std = model.predict(X[:10])
    e_mean, e_std = ens.predict(X[:10])
    np.testing.assert_array_equal(std, e_std)
    np.testing.assert_array_equal(mean[:, 1], e_mean[:, 1])
    assert np.abs(mean[:, 0] - Y[:10, 0]).max() < 0.05  # ridge on an exactly linear target
    assert not np.allclose(mean[:, 0], e_mean[:, 0])


def _study(tactic, seed=3, budget=40, path="sqlite://"):
    study = Study(toy_problem(), tactic, open_store(path), seed=seed)
    study.optimize(budget)
    return study


def test_choice_is_a_function_of_the_history_so_a_fresh_tactic_agrees():
    tactic = TailorTactic(predictor_choice="validated", validate_every=2, validate_margin=0.0)
    study = _study(tactic)
    chosen = tactic.chosen_predictors(study.history)
    fresh = TailorTactic(predictor_choice="validated", validate_every=2, validate_margin=0.0)
    fresh.setup(study.problem.space, 2, 3)
    assert fresh.chosen_predictors(study.history) == chosen
    # the toy's "size" is the mean of the genes: linear, so ridge ranks it best (tau 0.97 against
    # the ensemble's 0.94: under the default margin of 0.05, so the default keeps the ensemble)
    assert chosen == ["ridge", "ridge"]
    strict = TailorTactic(predictor_choice="validated", validate_every=2)
    strict.setup(study.problem.space, 2, 3)
    assert strict.chosen_predictors(study.history) == ["mlp_ensemble", "mlp_ensemble"]
    assert len({t.key for t in study.trials((COMPLETE,))}) == 40


def test_validated_and_ensemble_searches_differ_after_the_first_choice():
    a = [t.key for t in _study(TailorTactic(predictor_choice="ensemble")).trials()]
    b = [t.key for t in _study(TailorTactic(predictor_choice="validated", validate_margin=0.0)).trials()]
    c = [t.key for t in _study(TailorTactic(predictor_choice="validated", validate_margin=0.0)).trials()]
    assert b == c  # deterministic for a fixed seed
    assert a[:10] == b[:10]  # the random start (a quarter of the budget) is shared
    assert a != b


def test_settings_are_described_and_checked():
    described = TailorTactic(predictor_choice="validated", validate_every=4, validate_margin=0.01).describe()
    assert (described["predictor_choice"], described["validate_every"], described["validate_margin"]) == \
        ("validated", 4, 0.01)
    with pytest.raises(ConfigError, match="predictor_choice"):
        SearchSpec("tailor", {"predictor_choice": "best"}).build()
    with pytest.raises(ConfigError, match="validate_every"):
        SearchSpec("tailor", {"validate_every": 0}).build()


def test_the_default_validates_and_says_so():
    default = SearchSpec("default").build()
    assert (default.predictor_choice, default.validate_every, default.validate_margin) == ("validated", 3, 0.05)
    assert default.describe()["predictor_choice"] == "validated"
    # the tactic as it was before: no new keys, so its stored studies still match it
    assert not {"predictor_choice", "validate_every", "validate_margin"} & set(
        TailorTactic(predictor_choice="ensemble").describe())


def test_a_study_begun_before_the_change_is_refused_by_the_new_default_and_resumes_with_the_old(tmp_path):
    path = str(tmp_path / "s.db")
    before = [t.key for t in _study(TailorTactic(predictor_choice="ensemble"), budget=20, path=path).trials()]
    with pytest.raises(ConfigError, match="predictor_choice") as refused:
        Study(toy_problem(), TailorTactic(), open_store(path), seed=3)
    assert "\n" not in str(refused.value)
    resumed = _study(TailorTactic(predictor_choice="ensemble"), budget=30, path=path)
    assert [t.key for t in resumed.trials()][:20] == before and len(resumed.trials()) == 30
