import torch
from torch import nn

from tailor.measure import count_macs, count_params, peak_memory


def test_conv_macs_match_the_formula():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    x = torch.randn(2, 3, 10, 10)
    # every output element: C_in * k * k multiply-adds
    assert count_macs(conv, x) == 2 * 8 * 10 * 10 * 3 * 3 * 3


def test_linear_macs_and_params():
    lin = nn.Linear(5, 7)
    assert count_macs(lin, (torch.randn(4, 5),)) == 4 * 5 * 7
    assert count_params(lin) == 5 * 7 + 7


def test_peak_memory_sees_two_live_activations():
    net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1))
    x = torch.randn(1, 1, 32, 32)
    act = 16 * 32 * 32 * 4  # one float32 activation
    mem = peak_memory(net, x)
    assert 2 * act <= mem.peak_activation_bytes <= 3 * act
    assert mem.param_bytes == sum(p.numel() * 4 for p in net.parameters())
    assert mem.input_bytes == x.numel() * 4
    assert mem.peak_bytes == mem.peak_activation_bytes + mem.param_bytes + mem.input_bytes
