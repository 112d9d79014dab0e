"""Fold inference-mode batch norm into the convolution before it (the kernel adds bias first).

A pruned 1x1 convolution followed by ``BatchNorm2d`` becomes one convolution with a bias: the
per-channel scale keeps zeros zero, so the sparsity pattern is unchanged and the sparse kernel
applies the BN shift as its bias instead of a second pass over the output.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new convolution equal to ``bn(conv(x))`` with ``bn`` in eval mode."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    out = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                    conv.dilation, conv.groups, bias=True, padding_mode=conv.padding_mode)
    out.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    out.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
    return out


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """In every ``nn.Sequential``, fold each ``Conv2d`` -> ``BatchNorm2d`` pair (in place; eval use)."""
    for module in list(model.modules()):
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for a, b in zip(names, names[1:], strict=False):
            conv, bn = module._modules[a], module._modules[b]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                module._modules[a] = fold_conv_bn(conv, bn)
                module._modules[b] = nn.Identity()
    return model
