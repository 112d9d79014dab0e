"""Elastic layers shared by the CNN families: weights stored at their largest size, sliced per call.

Each layer can also ``export`` a plain ``nn`` layer holding copies of exactly the weights its
active slice uses, which is how ``subnet(config)`` builds standalone models whose outputs equal the
super-network's active path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tailor.space import Config, SearchSpace


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of ``divisor`` (never below 90 % of ``value``), as MobileNet."""
    min_value = min_value or divisor
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def check_config(space: SearchSpace, config: Mapping[str, Any]) -> Config:
    """Validate ``config`` against ``space`` (``ConfigError`` names the bad field) and canonicalize.

    ``None`` entries (what ``canonicalize`` writes for unused blocks) are accepted: they are
    checked as the dimension's first value and stay unused.
    """
    if isinstance(config, Mapping):
        filled = dict(config)
        for c in space.choices:
            v = filled.get(c.name)
            if c.repeat is not None and isinstance(v, (list, tuple)):
                filled[c.name] = [c.values[0] if e is None else e for e in v]
        space.validate(filled)
    else:
        space.validate(config)  # raises with a clear message
    return space.canonical(dict(config))


class ElasticConv2d(nn.Module):
    """Conv2d whose input/output channels are a prefix slice and kernel a centre crop.

    Centre-cropping the largest kernel is the simple form of OFA's elastic kernel (OFA adds small
    learned kernel-transform matrices); sub-kernels share the central weights.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        depthwise: bool = False,
        bias: bool = False,
    ):
        super().__init__()
        self.max_in, self.max_out, self.max_kernel = in_channels, out_channels, kernel_size
        self.stride, self.depthwise = stride, depthwise
        if depthwise and in_channels != out_channels:
            raise ValueError("a depthwise conv keeps its channel count")
        self.weight = nn.Parameter(torch.empty(out_channels, 1 if depthwise else in_channels,
                                               kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.kaiming_normal_(self.weight, mode="fan_out")

    def active_weight(self, in_ch: int, out_ch: int, kernel: int) -> torch.Tensor:
        w = self.weight[:out_ch] if self.depthwise else self.weight[:out_ch, :in_ch]
        if kernel < self.max_kernel:
            off = (self.max_kernel - kernel) // 2
            w = w[:, :, off:off + kernel, off:off + kernel]
        return w

    def _sizes(self, in_ch: int, out_ch: int | None, kernel: int | None) -> tuple[int, int]:
        out = in_ch if self.depthwise else (self.max_out if out_ch is None else out_ch)
        return out, self.max_kernel if kernel is None else kernel

    def forward(
        self, x: torch.Tensor, out_ch: int | None = None, kernel: int | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``mask``: optional 0/1 tensor of the active weight's shape (pruning; gradients of the
        masked weights are zero, the stored weights are kept for paths that use them)."""
        in_ch = x.shape[1]
        out_ch, kernel = self._sizes(in_ch, out_ch, kernel)
        w = self.active_weight(in_ch, out_ch, kernel)
        if mask is not None:
            w = w * mask
        b = None if self.bias is None else self.bias[:out_ch]
        return F.conv2d(x, w, b, self.stride, kernel // 2, 1, in_ch if self.depthwise else 1)

    def export(self, in_ch: int, out_ch: int | None = None, kernel: int | None = None,
               mask: torch.Tensor | None = None) -> nn.Conv2d:
        out_ch, kernel = self._sizes(in_ch, out_ch, kernel)
        conv = nn.Conv2d(in_ch, out_ch, kernel, self.stride, kernel // 2,
                         groups=in_ch if self.depthwise else 1, bias=self.bias is not None)
        with torch.no_grad():
            w = self.active_weight(in_ch, out_ch, kernel)
            conv.weight.copy_(w if mask is None else w * mask)
            if self.bias is not None:
                conv.bias.copy_(self.bias[:out_ch])
        return conv


class ElasticBatchNorm2d(nn.Module):
    """BatchNorm2d over the first ``C`` channels of its largest size (C taken from the input).

    Running statistics of the used channels are updated in place (slices are views), including
    the cumulative average that ``momentum=None`` asks for during re-calibration.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1):
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bn, c = self.bn, x.shape[1]
        factor = 0.0  # bn.training, not self.training: re-calibration switches only BN layers to train
        if bn.training and bn.track_running_stats:
            bn.num_batches_tracked.add_(1)
            factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
        return F.batch_norm(
            x, bn.running_mean[:c], bn.running_var[:c], bn.weight[:c], bn.bias[:c],
            bn.training or not bn.track_running_stats, factor, bn.eps,
        )

    def export(self, channels: int) -> nn.BatchNorm2d:
        src = self.bn
        out = nn.BatchNorm2d(channels, eps=src.eps, momentum=src.momentum)
        with torch.no_grad():
            out.weight.copy_(src.weight[:channels])
            out.bias.copy_(src.bias[:channels])
            out.running_mean.copy_(src.running_mean[:channels])
            out.running_var.copy_(src.running_var[:channels])
            out.num_batches_tracked.copy_(src.num_batches_tracked)
        return out


class ElasticLinear(nn.Module):
    """Linear layer taking the first ``in_features`` of its largest input size."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.linear.weight[:, : x.shape[1]], self.linear.bias)

    def export(self, in_features: int) -> nn.Linear:
        out = nn.Linear(in_features, self.linear.out_features)
        with torch.no_grad():
            out.weight.copy_(self.linear.weight[:, :in_features])
            out.bias.copy_(self.linear.bias)
        return out


class SqueezeExcite(nn.Module):
    """Static squeeze-and-excitation as in MobileNetV3 (ReLU inside, hard-sigmoid gate)."""

    def __init__(self, reduce: nn.Conv2d, expand: nn.Conv2d):
        super().__init__()
        self.reduce, self.expand = reduce, expand

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * F.hardsigmoid(self.expand(F.relu(self.reduce(s))))


class ElasticSqueezeExcite(nn.Module):
    """SE whose channels follow the input and whose bottleneck is ``make_divisible(C / 4)``."""

    def __init__(self, max_channels: int, reduction: int = 4):
        super().__init__()
        self.reduction = reduction
        mid = make_divisible(max_channels / reduction)
        self.reduce = ElasticConv2d(max_channels, mid, 1, bias=True)
        self.expand = ElasticConv2d(mid, max_channels, 1, bias=True)

    def mid_channels(self, channels: int) -> int:
        return min(make_divisible(channels / self.reduction), self.reduce.max_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        s = x.mean((2, 3), keepdim=True)
        s = F.relu(self.reduce(s, out_ch=self.mid_channels(c)))
        return x * F.hardsigmoid(self.expand(s, out_ch=c))

    def export(self, channels: int) -> SqueezeExcite:
        mid = self.mid_channels(channels)
        return SqueezeExcite(self.reduce.export(channels, mid), self.expand.export(mid, channels))


def l1_order(weight: torch.Tensor, dim: int) -> torch.Tensor:
    """Channel indices along ``dim`` sorted by descending L1 norm (stable, so ties keep order)."""
    dims = [d for d in range(weight.dim()) if d != dim]
    importance = weight.detach().abs().sum(dim=dims)
    return torch.sort(importance, descending=True, stable=True).indices


def permute_(tensor: torch.Tensor, order: torch.Tensor, dim: int) -> None:
    """Reorder ``tensor`` along ``dim`` in place (parameters and buffers alike)."""
    with torch.no_grad():
        tensor.copy_(tensor.index_select(dim, order))


def permute_bn_(bn: ElasticBatchNorm2d, order: torch.Tensor) -> None:
    for t in (bn.bn.weight, bn.bn.bias, bn.bn.running_mean, bn.bn.running_var):
        permute_(t, order, 0)


def count_subnet_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def ceil_div(a: int, b: int) -> int:
    return math.ceil(a / b)
