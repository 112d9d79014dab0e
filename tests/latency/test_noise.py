"""Measured latency that says when it cannot be trusted: round spread and the noisy flag."""

import pytest
import torch

from tailor.errors import ConfigError
from tailor.measure.evaluators import LatencyEvaluator
from tailor.measure.latency import LatencyResult
from tailor.supernets import create_supernet


def test_round_spread_from_samples():
    r = LatencyResult.from_samples([1.0, 1.0, 1.0, 2.0, 2.0, 2.0], "onnxruntime", 1, rounds=2)
    assert r.round_medians_ms == (1.0, 2.0) and r.round_spread == pytest.approx(1 / 1.5)
    assert LatencyResult.from_samples([1.0, 2.0], "onnxruntime", 1).round_spread is None


def test_evaluator_flags_a_noisy_measurement(tmp_path):
    torch.manual_seed(0)
    net = create_supernet("nb201_cell", channels=4)
    cfg = {"op": ["nor_conv_3x3"] * 3}
    strict = LatencyEvaluator(net, repeats=12, rounds=3, noise_threshold=1e-9, cache=tmp_path / "c")
    m = strict.evaluate([cfg])[0]
    assert m["latency_round_spread"] > 0 and m["latency_noisy"] == 1.0  # timings never agree to 1e-9
    lenient = LatencyEvaluator(net, repeats=12, rounds=3, noise_threshold=1e9, cache=tmp_path / "c")
    m2 = lenient.evaluate([cfg])[0]  # from the cache: the rounds are kept there too
    assert lenient.hits == 1 and m2["latency_round_spread"] == m["latency_round_spread"] and m2["latency_noisy"] == 0.0
    with pytest.raises(ConfigError, match="latency_noise"):
        LatencyEvaluator(net, noise_threshold=0)
