import pytest
import torch

# 2 shared cores: more intra-op threads than free cores makes tiny convs ~100x slower.
torch.set_num_threads(1)

SMALL_MBV3 = dict(num_classes=10, in_channels=1, width_mult=0.25, resolutions=(16, 24),
                  final_channels=64, head_channels=64)


@pytest.fixture
def small_kwargs():
    """Small presets of the built-in CNN families, by name."""
    return {
        "mobilenetv3": dict(SMALL_MBV3),
        "resnet": dict(num_classes=10, in_channels=1, resolutions=(16,), stem_channels=8,
                       stage_channels=(16, 16, 24, 32), base_depths=(1, 1, 1, 1)),
    }
