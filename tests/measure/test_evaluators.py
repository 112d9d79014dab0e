import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from tailor.errors import ConfigError
from tailor.measure import (
    AccuracyEvaluator,
    ComplexityEvaluator,
    LatencyCache,
    LatencyEvaluator,
    MemoryEvaluator,
)
from tailor.supernets import create_supernet

SMALL_MBV3 = dict(num_classes=10, in_channels=1, width_mult=0.25, resolutions=(16, 24),
                  final_channels=64, head_channels=64)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return create_supernet("mobilenetv3", **SMALL_MBV3).eval()


def test_latency_cache_hit(net, tmp_path):
    cfg = net.space().extreme("min")
    first = LatencyEvaluator(net, backend="torch", warmup=1, repeats=3, cache=tmp_path)
    (a,) = first.evaluate([cfg])
    assert a["latency_ms"] > 0 and first.hits == 0
    second = LatencyEvaluator(net, backend="torch", warmup=1, repeats=3,
                              cache=LatencyCache(tmp_path))
    (b,) = second.evaluate([cfg])
    assert second.hits == 1 and b == a
    # another input shape is another key: measured, not reused
    third = LatencyEvaluator(net, backend="torch", batch_size=2, warmup=1, repeats=3,
                             cache=tmp_path)
    third.evaluate([cfg])
    assert third.hits == 0 and len(LatencyCache(tmp_path)) == 2


def test_latency_evaluator_rejects_bad_input(net):
    with pytest.raises(ConfigError, match="backend"):
        LatencyEvaluator(net, backend="cuda-magic", cache=False)
    ev = LatencyEvaluator(net, backend="torch", warmup=0, repeats=1, cache=False)
    bad = net.space().extreme("max")
    bad["resolution"] = 7
    with pytest.raises(ConfigError, match="resolution"):
        ev.evaluate([bad])


def test_complexity_and_memory(net):
    space = net.space()
    lo, hi = space.extreme("min"), space.extreme("max")
    ev = ComplexityEvaluator(net)
    assert not ev.expensive and ev.metrics == {"macs": "min", "params": "min"}
    a, b = ev.evaluate([lo, hi])
    assert 0 < a["macs"] < b["macs"] and 0 < a["params"] < b["params"]
    m_lo, m_hi = MemoryEvaluator(net).evaluate([lo, hi])
    assert 0 < m_lo["peak_memory_mb"] < m_hi["peak_memory_mb"]


def test_accuracy_with_bn_recalibration_restores_statistics(net):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images[:64], dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(digits.target[:64])
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    ev = AccuracyEvaluator(net, loader, loader, calib_batches=2)
    (r,) = ev.evaluate([net.space().sample(np.random.default_rng(0))])
    assert 0.0 <= r["accuracy"] <= 1.0 and ev.metrics == {"accuracy": "max"}
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
