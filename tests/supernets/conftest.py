"""Small presets per registered family so the registry-driven tests stay fast."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tailor.supernets import create_supernet

# 2 shared cores: more intra-op threads than free cores makes tiny convs ~100x slower.
torch.set_num_threads(1)

SMALL: dict[str, dict] = {
    "mobilenetv3": dict(num_classes=10, in_channels=1, width_mult=0.25, resolutions=(24, 32),
                        final_channels=128, head_channels=128),
    "resnet": dict(num_classes=10, in_channels=1, resolutions=(24, 32), stem_channels=8,
                   stage_channels=(16, 24, 32, 48), base_depths=(1, 1, 2, 1)),
    "nb201_cell": dict(channels=4),
    "transformer": dict(importance="magnitude", depths=(1, 6), heads=(4, 12), ffn=(384, 1536),
                        seq_len=8),
}


def randomize_bn(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics and affine weights, so equality tests compare something."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                    m.bias.copy_(torch.rand(n, generator=gen) - 0.5)


@pytest.fixture(scope="module")
def small_supernet():
    cache: dict[str, nn.Module] = {}

    def make(name: str) -> nn.Module:
        if name not in cache:
            torch.manual_seed(0)
            net = create_supernet(name, **SMALL.get(name, {}))
            randomize_bn(net)
            cache[name] = net.eval()
        return cache[name]

    return make
