import os

import pytest
import torch

torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")

# A MobileNetV3 small enough to profile in seconds: 10 distinct blocks.
TINY_MBV3 = {"num_classes": 4, "in_channels": 1, "resolutions": (16,), "kernel_sizes": (3, 5), "expand_ratios": (3,),
             "depths": (1, 2), "stage_channels": (8, 16), "stage_strides": (2, 2), "stage_se": (False, True),
             "stage_act": ("relu", "hswish"), "final_channels": 16, "head_channels": 16, "stem_channels": 8}
TINY_RESNET = {"num_classes": 4, "in_channels": 1, "resolutions": (16, 24), "width_mults": (0.5, 1.0),
               "expand_ratios": (0.25, 0.5), "extra_depths": (0, 1), "base_depths": (1, 1), "stem_channels": 8,
               "stage_channels": (16, 32), "stage_strides": (1, 2)}


@pytest.fixture(scope="session")
def sizes():
    """Tiny sizes per family (tests parametrize over family names)."""
    return {"mobilenetv3": TINY_MBV3, "resnet": TINY_RESNET, "nb201_cell": {"channels": 4, "n_nodes": 4}}


@pytest.fixture(scope="session")
def tiny_mbv3():
    from tailor.supernets import create_supernet

    return create_supernet("mobilenetv3", **TINY_MBV3).eval()


@pytest.fixture(scope="session")
def tiny_table(tiny_mbv3):
    """A profiled table of the tiny MobileNetV3 (few rounds: the numbers only need to exist)."""
    from tailor.latency_table import LatencyTable, block_family
    from tailor.latency_table.profile import profile_supernet

    data = profile_supernet(tiny_mbv3, block_family("mobilenetv3", tiny_mbv3), threads=1, rounds=2, repeats=3,
                            warmup=1, n_calibration=6, seed=0)
    return LatencyTable(data, "tiny.json")
