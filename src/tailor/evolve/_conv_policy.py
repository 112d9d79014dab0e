"""A conv net on pixels for the Deep GA, shaped like the Atari network of Such et al. (2017) (and
Mnih et al. 2015): conv layers with ReLU, flatten, a ReLU hidden layer, then the actions. Its
flat weights follow ``parameters_to_vector`` order, so seed-chain genomes mutate it as an MLP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from tailor.errors import ConfigError
from tailor.evolve._policy import PolicyIO, register_policy


@dataclass(frozen=True)
class ConvPolicySpec:
    """``input_shape`` (C, H, W) -> conv(channels[i], kernels[i], strides[i]) + ReLU ... -> flatten
    -> Linear(hidden) + ReLU ... -> act_dim (tanh times ``act_scale`` if continuous, else argmax)."""

    input_shape: tuple[int, int, int]
    act_dim: int
    channels: tuple[int, ...] = (32, 64, 64)
    kernels: tuple[int, ...] = (8, 4, 3)
    strides: tuple[int, ...] = (4, 2, 1)
    hidden: tuple[int, ...] = (256,)
    discrete: bool = True
    act_scale: float = 1.0

    def __post_init__(self) -> None:
        if not len(self.channels) == len(self.kernels) == len(self.strides) or not self.channels:
            raise ConfigError("policy.channels", f"channels, kernels and strides need the same (non-zero) length, got "
                              f"{len(self.channels)}, {len(self.kernels)}, {len(self.strides)}")
        if min(*self.channels, *self.kernels, *self.strides) < 1:
            raise ConfigError("policy.channels", "channels, kernels and strides must be >= 1")
        _ = self.conv_out  # raises on an image too small for the kernels

    @property
    def conv_out(self) -> tuple[int, int, int]:
        """(C, H, W) after the conv layers (no padding)."""
        _, h, w = self.input_shape
        for i, (k, s) in enumerate(zip(self.kernels, self.strides, strict=True)):
            h, w = (h - k) // s + 1, (w - k) // s + 1
            if h < 1 or w < 1:
                raise ConfigError("policy.kernels", f"conv layer {i} (kernel {k}, stride {s}) does not fit the "
                                  f"{self.input_shape[1]}x{self.input_shape[2]} image")
        return self.channels[-1], h, w

    def _fans(self) -> list[tuple[int, int]]:
        """(weight count, fan_in) per layer, then the bias count is the layer's output width."""
        c_in = self.input_shape[0]
        out = []
        for c, k in zip(self.channels, self.kernels, strict=True):
            out.append((c * c_in * k * k, c_in * k * k, c))
            c_in = c
        n = int(np.prod(self.conv_out))
        for width in (*self.hidden, self.act_dim):
            out.append((width * n, n, width))
            n = width
        return out

    @property
    def n_params(self) -> int:
        return sum(w + b for w, _, b in self._fans())

    def build_module(self) -> nn.Module:
        layers: list[nn.Module] = []
        c_in = self.input_shape[0]
        for c, k, s in zip(self.channels, self.kernels, self.strides, strict=True):
            layers += [nn.Conv2d(c_in, c, k, s), nn.ReLU()]
            c_in = c
        layers.append(nn.Flatten())
        n = int(np.prod(self.conv_out))
        for width in self.hidden:
            layers += [nn.Linear(n, width), nn.ReLU()]
            n = width
        layers.append(nn.Linear(n, self.act_dim))
        if not self.discrete:
            layers.append(nn.Tanh())
        return nn.Sequential(*layers)

    def init_scales(self) -> np.ndarray:
        parts = []
        for w, fan_in, b in self._fans():
            parts.append(np.full(w, 1.0 / np.sqrt(fan_in), dtype=np.float32))
            parts.append(np.zeros(b, dtype=np.float32))
        return np.concatenate(parts)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "conv", "input_shape": list(self.input_shape), "channels": list(self.channels),
                "kernels": list(self.kernels), "strides": list(self.strides), "hidden": list(self.hidden),
                "act_dim": self.act_dim, "discrete": self.discrete, "act_scale": self.act_scale}


@dataclass(frozen=True)
class ConvOptions:
    """The conv stack (defaults: the Deep GA's Atari network, with a 256-unit hidden layer)."""

    channels: tuple[int, ...] = (32, 64, 64)
    kernels: tuple[int, ...] = (8, 4, 3)
    strides: tuple[int, ...] = (4, 2, 1)
    hidden: tuple[int, ...] = (256,)


@register_policy("conv", ConvOptions, "conv net on (C, H, W) pixels, Deep-GA/Atari style")
def _conv(o: ConvOptions, io: PolicyIO) -> ConvPolicySpec:
    if len(io.input_shape) != 3:
        raise ConfigError("policy", f"conv needs (C, H, W) observations, got shape {io.input_shape}")
    c, h, w = io.input_shape
    return ConvPolicySpec((c, h, w), io.act_dim, tuple(o.channels), tuple(o.kernels), tuple(o.strides),
                          tuple(o.hidden), io.discrete, io.act_scale)
