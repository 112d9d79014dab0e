"""Policy networks: small MLPs as torch modules (for export) and the same weights as one flat
float32 vector, laid out as ``torch.nn.utils.parameters_to_vector`` lays them out, run with numpy
in the rollout (a 10x16 matmul is cheaper in numpy than a torch dispatch)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class PolicySpec:
    """``obs_dim -> hidden... -> act_dim``, tanh hidden units; ``discrete``: argmax over outputs,
    else tanh times ``act_scale``."""

    obs_dim: int
    act_dim: int
    hidden: tuple[int, ...] = (16,)
    discrete: bool = True
    act_scale: float = 1.0

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.obs_dim, *self.hidden, self.act_dim)

    @property
    def n_params(self) -> int:
        s = self.sizes
        return sum(s[i] * s[i + 1] + s[i + 1] for i in range(len(s) - 1))


def build_module(spec: PolicySpec) -> nn.Module:
    """The torch module (Linear/Tanh stack; a final Tanh for continuous actions)."""
    layers: list[nn.Module] = []
    s = spec.sizes
    for i in range(len(s) - 1):
        layers.append(nn.Linear(s[i], s[i + 1]))
        if i < len(s) - 2 or not spec.discrete:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def init_scales(spec: PolicySpec) -> np.ndarray:
    """Per-parameter scale of the initial weights: 1/sqrt(fan_in) for weights, 0 for biases."""
    parts = []
    s = spec.sizes
    for i in range(len(s) - 1):
        parts.append(np.full(s[i] * s[i + 1], 1.0 / np.sqrt(s[i]), dtype=np.float32))
        parts.append(np.zeros(s[i + 1], dtype=np.float32))
    return np.concatenate(parts)


def to_module(spec: PolicySpec, theta: np.ndarray) -> nn.Module:
    """A torch module holding the flat weights ``theta``."""
    module = build_module(spec)
    nn.utils.vector_to_parameters(torch.from_numpy(np.array(theta, dtype=np.float32)), module.parameters())
    return module


def from_module(module: nn.Module) -> np.ndarray:
    return nn.utils.parameters_to_vector(module.parameters()).detach().numpy().astype(np.float32)


class NumpyPolicy:
    """The MLP of ``spec`` over a flat vector, evaluated with numpy."""

    def __init__(self, spec: PolicySpec, theta: np.ndarray):
        self.spec = spec
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []
        s, at = spec.sizes, 0
        for i in range(len(s) - 1):
            w = theta[at:at + s[i] * s[i + 1]].reshape(s[i + 1], s[i])  # torch Linear: (out, in)
            at += s[i] * s[i + 1]
            b = theta[at:at + s[i + 1]]
            at += s[i + 1]
            self.layers.append((w, b))

    def forward(self, obs: np.ndarray) -> np.ndarray:
        h = np.asarray(obs, dtype=np.float32)
        last = len(self.layers) - 1
        for i, (w, b) in enumerate(self.layers):
            h = w @ h + b
            if i < last or not self.spec.discrete:
                h = np.tanh(h)
        return h

    def act(self, obs: np.ndarray):
        out = self.forward(obs)
        if self.spec.discrete:
            return int(np.argmax(out))
        return out * self.spec.act_scale
