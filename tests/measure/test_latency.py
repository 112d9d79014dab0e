import pytest
import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.measure import LatencyResult, measure_latency


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_result_is_sane(backend):
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU()).train()
    r = measure_latency(net, (torch.randn(1, 1, 8, 8),), backend=backend, warmup=1, repeats=7)
    assert r.median_ms > 0 and r.min_ms <= r.median_ms and r.iqr_ms >= 0
    assert r.n == 7 == len(r.samples_ms)
    assert (r.backend, r.threads) == (backend, 1)
    assert net.training  # mode restored


def test_multiple_inputs_export_to_onnx():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 8)

        def forward(self, ids, mask):
            return (self.emb(ids) * mask.unsqueeze(-1)).sum(1)

    ids, mask = torch.randint(0, 50, (2, 6)), torch.ones(2, 6, dtype=torch.long)
    r = measure_latency(TwoInputs(), (ids, mask), repeats=3, warmup=1,
                        input_names=["input_ids", "attention_mask"])
    assert r.n == 3


def test_median_ignores_outliers():
    r = LatencyResult.from_samples([1.0, 1.1, 0.9, 1.0, 50.0], "torch", 1)
    assert r.median_ms == 1.0 and r.n_outliers == 1


def test_bad_arguments_are_config_errors():
    net, x = nn.Identity(), torch.randn(1, 2)
    with pytest.raises(ConfigError, match="backend"):
        measure_latency(net, x, backend="tensorrt")
    with pytest.raises(ConfigError, match="repeats"):
        measure_latency(net, x, backend="torch", repeats=0)
    with pytest.raises(ConfigError, match="threads"):
        measure_latency(net, x, backend="torch", threads=0)
