"""Path and data samplers: distributions, schedule, fairness, unbiased importance weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tailor.errors import ConfigError
from tailor.space import Choice, SearchSpace
from tailor.supernets.cell import OPS, CellSuperNet
from tailor.train import (
    FairPathSampler,
    ImportanceDataSampler,
    PadaPathSampler,
    SandwichPathSampler,
    UniformDataSampler,
    logit_gradient_norm,
    make_path_sampler,
    tau_at,
)


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace([Choice("op", OPS, repeat=3), Choice("width", (8, 16), ordered=True)])


def _random_scores(sampler: PadaPathSampler, rng: np.random.Generator) -> None:
    for g, k in enumerate(sampler.card):
        sampler.scores[g, :k] = rng.random(k) * 5


# ---------------------------------------------------------------------- path sampler
@pytest.mark.parametrize("progress", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("floor", [0.0, 0.1, 0.5])
def test_path_probabilities_sum_to_one(space, progress, floor):
    s = PadaPathSampler(space, floor=floor)
    _random_scores(s, np.random.default_rng(1))
    s.set_progress(progress)
    probs = s.probabilities()
    for g, k in enumerate(s.card):
        assert probs[g, :k].sum() == pytest.approx(1.0)
        assert np.all(probs[g, :k] >= floor / k - 1e-12)
        assert np.all(probs[g, k:] == 0)


def test_tau_zero_is_uniform(space):
    s = PadaPathSampler(space, floor=0.0)
    _random_scores(s, np.random.default_rng(2))
    s.set_progress(0.0)
    probs = s.probabilities()
    for g, k in enumerate(s.card):
        np.testing.assert_allclose(probs[g, :k], 1.0 / k)
    s.set_progress(1.0)  # and the same scores at tau = 1 are not uniform: the test can fail
    assert not np.allclose(s.probabilities()[0, :5], 0.2)


def test_tau_one_is_proportional_to_scores(space):
    s = PadaPathSampler(space, floor=0.0)
    s.scores[0, :5] = [1, 2, 3, 4, 0]
    s.set_progress(1.0)
    np.testing.assert_allclose(s.probabilities()[0, :5], [0.1, 0.2, 0.3, 0.4, 0.0])


def test_equal_scores_change_nothing(space):
    s = PadaPathSampler(space, floor=0.3)
    s.scores[:, :] = np.nan
    for g, k in enumerate(s.card):
        s.scores[g, :k] = 0.7
    for progress in (0.0, 0.5, 1.0):
        s.set_progress(progress)
        for g, k in enumerate(s.card):
            np.testing.assert_allclose(s.probabilities()[g, :k], 1.0 / k)


def test_unobserved_candidates_get_the_mean_score(space):
    s = PadaPathSampler(space, floor=0.0)
    s.scores[0, :5] = [2.0, np.nan, 2.0, np.nan, 2.0]
    s.set_progress(1.0)
    np.testing.assert_allclose(s.probabilities()[0, :5], 0.2)


def test_tau_schedule():
    assert tau_at(0.0) == 0.0
    assert tau_at(0.5) == pytest.approx(0.5)
    assert tau_at(2.0) == 1.0
    assert tau_at(0.25, ramp=0.5) == pytest.approx(0.5)


def test_plan_follows_probabilities(space):
    s = PadaPathSampler(space, floor=0.0)
    s.scores[0, :5] = [1, 0, 0, 0, 3]
    s.set_progress(1.0)
    rng = np.random.default_rng(0)
    picks = [s.plan(rng)[0]["op"][0] for _ in range(4000)]
    freq = picks.count("avg_pool_3x3") / len(picks)
    assert freq == pytest.approx(0.75, abs=0.03)
    assert set(picks) == {"none", "avg_pool_3x3"}


def test_pada_scores_from_candidate_gradients():
    torch.manual_seed(0)
    net = CellSuperNet(channels=4)
    s = PadaPathSampler(net.space(), ema=0.5, param_free="zero")
    config = {"op": ["nor_conv_3x3", "skip_connect", "nor_conv_1x1"]}
    net.activate(config)
    net(net.example_input(8)).sum().backward()
    s.after_backward(net, [config])
    conv3 = net.choice_parameters()[("op", 0, OPS.index("nor_conv_3x3"))]
    expected = float(torch.sqrt(sum((p.grad**2).sum() for p in conv3)))
    assert s.scores[0, OPS.index("nor_conv_3x3")] == pytest.approx(expected, rel=1e-5)
    assert s.scores[1, OPS.index("skip_connect")] == 0.0  # parameter-free, published policy
    assert np.isnan(s.scores[0, OPS.index("nor_conv_1x1")])  # not active: untouched
    s.after_backward(net, [config])  # EMA with the same norm keeps it
    assert s.scores[0, OPS.index("nor_conv_3x3")] == pytest.approx(expected, rel=1e-5)


def test_pada_generic_score_without_choice_parameters():
    """Families without choice_parameters() are scored by the whole path's gradient norm."""

    class Plain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 2)

        def forward(self, x):
            return self.lin(x)

    space = SearchSpace([Choice("k", (3, 5, 7), repeat=2)])
    s = PadaPathSampler(space, param_free="mean")
    net = Plain()
    net(torch.ones(4, 3)).sum().backward()
    s.after_backward(net, [{"k": [5, 7]}])
    norm = float(torch.sqrt(sum((p.grad**2).sum() for p in net.parameters())))
    assert s.scores[0, 1] == pytest.approx(norm, rel=1e-5)
    assert s.scores[1, 2] == pytest.approx(norm, rel=1e-5)
    assert np.isnan(s.scores[0, 0])


def test_fairnas_trains_every_value_once_per_step(space):
    s = FairPathSampler(space)
    paths = s.plan(np.random.default_rng(3))
    assert len(paths) == 5
    for e in range(3):
        assert sorted(p["op"][e] for p in paths) == sorted(OPS)
    widths = [p["width"] for p in paths]  # 2 values over 5 paths: balanced to within one
    assert abs(widths.count(8) - widths.count(16)) <= 1


def test_sandwich_plan_and_extremes():
    net = CellSuperNet(channels=4)
    s = make_path_sampler("sandwich", net.space(), net, num_random=2)
    assert isinstance(s, SandwichPathSampler) and s.distill
    plan = s.plan(np.random.default_rng(0))
    assert len(plan) == 4
    assert plan[0] == {"op": ["nor_conv_3x3"] * 3}
    assert plan[1] == {"op": ["skip_connect"] * 3}


def test_unknown_sampler_is_config_error(space):
    with pytest.raises(ConfigError, match="sampler"):
        make_path_sampler("greedy", space)
    with pytest.raises(ConfigError):
        PadaPathSampler(space, param_free="ignore")


def test_path_sampler_state_round_trip(space):
    a = PadaPathSampler(space)
    _random_scores(a, np.random.default_rng(4))
    a.set_progress(0.4)
    b = PadaPathSampler(space)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a.probabilities(), b.probabilities())


# ---------------------------------------------------------------------- data sampler
def test_logit_gradient_norm_matches_autograd():
    torch.manual_seed(0)
    z = torch.randn(6, 4, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    torch.nn.functional.cross_entropy(z, y, reduction="sum").backward()
    torch.testing.assert_close(logit_gradient_norm(z, y), z.grad.norm(dim=1))


def test_data_probabilities_sum_to_one_and_tau_zero_uniform():
    s = ImportanceDataSampler(50)
    s.scores = torch.rand(50, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for tau in (0.0, 0.5, 1.0):
        assert float(s.probabilities(tau).sum()) == pytest.approx(1.0)
    torch.testing.assert_close(s.probabilities(0.0), torch.full((50,), 1 / 50, dtype=torch.float64))
    assert not torch.allclose(s.probabilities(1.0), torch.full((50,), 1 / 50, dtype=torch.float64))
    s.scores[:] = 3.0  # equal scores: uniform at any tau
    torch.testing.assert_close(s.probabilities(1.0), torch.full((50,), 1 / 50, dtype=torch.float64))


def test_data_resampling_follows_scores():
    s = ImportanceDataSampler(4)
    s.scores = torch.tensor([1.0, 1.0, 1.0, 7.0], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    idx = torch.cat([s.epoch_indices(1.0, g) for _ in range(2000)])
    assert len(idx) == 8000
    assert float((idx == 3).double().mean()) == pytest.approx(0.7, abs=0.02)


def test_importance_weights_are_unbiased_on_a_toy_problem():
    """E[w_i * loss_i] under p equals the uniform mean; without weights it is biased."""
    n = 40
    gen = torch.Generator().manual_seed(5)
    losses = torch.rand(n, generator=gen, dtype=torch.float64) * 2
    s = ImportanceDataSampler(n, importance_weights=True)
    s.scores = losses.clone() + 0.1  # informative scores: high loss, high probability
    weighted, plain = [], []
    for _ in range(400):  # 400 epochs of n draws with replacement
        idx = s.epoch_indices(1.0, gen)
        weighted.append(float((s.loss_weights(idx).double() * losses[idx]).mean()))
        plain.append(float(losses[idx].mean()))
    target = float(losses.mean())
    se = np.std(weighted) / np.sqrt(len(weighted))
    assert abs(np.mean(weighted) - target) < 4 * se
    assert abs(np.mean(plain) - target) > 10 * np.std(plain) / np.sqrt(len(plain))


def test_uniform_data_sampler_is_a_permutation():
    s = UniformDataSampler(10)
    idx = s.epoch_indices(1.0, torch.Generator().manual_seed(0))
    assert sorted(idx.tolist()) == list(range(10))
    assert s.loss_weights(idx) is None
