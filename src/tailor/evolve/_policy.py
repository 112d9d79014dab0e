"""Policy networks built from a spec in the policy registry: small MLPs (``mlp``) and Deep-GA /
Atari-style conv nets on pixels (``conv``, in ``_conv_policy``). Every policy is one flat float32
vector laid out as ``torch.nn.utils.parameters_to_vector`` lays out its torch module, so the
seed-chain genomes mutate any of them the same way. MLPs run with numpy in the rollout (a 10x16
matmul is cheaper in numpy than a torch dispatch); conv nets run as torch modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from tailor.options import options_from_dict
from tailor.registry import Registry


class Policy(Protocol):
    """What the genomes, workers and exporter need from a policy network spec."""

    act_dim: int
    discrete: bool
    act_scale: float

    @property
    def input_shape(self) -> tuple[int, ...]: ...

    @property
    def n_params(self) -> int: ...

    def build_module(self) -> nn.Module:
        """The torch module (its parameters in the flat vector's order)."""
        ...

    def init_scales(self) -> np.ndarray:
        """Per-parameter scale of the initial weights (1/sqrt(fan_in) for weights, 0 for biases)."""
        ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class PolicyIO:
    """What a task fixes about its policy: observation shape and action space."""

    input_shape: tuple[int, ...]
    act_dim: int
    discrete: bool = True
    act_scale: float = 1.0


PolicyBuilder = Callable[[Any, PolicyIO], Policy]
_POLICIES: Registry[PolicyBuilder] = Registry("policy", ("tailor.evolve._policy", "tailor.evolve._conv_policy"))


def register_policy(name: str, options: type, summary: str = "") -> Callable[[PolicyBuilder], PolicyBuilder]:
    """Decorator: register ``build(options, io) -> Policy`` under ``name`` with its options dataclass."""
    return _POLICIES.register(name, options, summary)


def build_policy(name: str, options: Mapping[str, Any], io: PolicyIO) -> Policy:
    """The policy ``name`` (``mlp``, ``conv``, ...) with ``options`` for a task's observations and actions."""
    entry = _POLICIES.entry(name)
    return entry.build(options_from_dict(entry.options, f"policy {name}", dict(options)), io)


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
    def input_shape(self) -> tuple[int, ...]:
        return (self.obs_dim,)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.obs_dim, *self.hidden, self.act_dim)

    @property
    def n_params(self) -> int:
        s = self.sizes
        return sum(s[i] * s[i + 1] + s[i + 1] for i in range(len(s) - 1))

    def build_module(self) -> nn.Module:
        """Linear/Tanh stack; a final Tanh for continuous actions."""
        layers: list[nn.Module] = []
        s = self.sizes
        for i in range(len(s) - 1):
            layers.append(nn.Linear(s[i], s[i + 1]))
            if i < len(s) - 2 or not self.discrete:
                layers.append(nn.Tanh())
        return nn.Sequential(*layers)

    def init_scales(self) -> np.ndarray:
        parts = []
        s = self.sizes
        for i in range(len(s) - 1):
            parts.append(np.full(s[i] * s[i + 1], 1.0 / np.sqrt(s[i]), dtype=np.float32))
            parts.append(np.zeros(s[i + 1], dtype=np.float32))
        return np.concatenate(parts)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "mlp", "sizes": list(self.sizes), "discrete": self.discrete, "act_scale": self.act_scale}


@dataclass(frozen=True)
class MLPOptions:
    """Hidden layer widths of the MLP policy (empty: linear)."""

    hidden: tuple[int, ...] = (16,)


@register_policy("mlp", MLPOptions, "tanh MLP on a state vector")
def _mlp(o: MLPOptions, io: PolicyIO) -> PolicySpec:
    return PolicySpec(int(np.prod(io.input_shape)), io.act_dim, tuple(o.hidden), io.discrete, io.act_scale)


def build_module(spec: Policy) -> nn.Module:
    """The torch module of ``spec``."""
    return spec.build_module()


def init_scales(spec: Policy) -> np.ndarray:
    """Per-parameter scale of the initial weights: 1/sqrt(fan_in) for weights, 0 for biases."""
    return spec.init_scales()


def to_module(spec: Policy, theta: np.ndarray) -> nn.Module:
    """A torch module holding the flat weights ``theta``."""
    module = spec.build_module()
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


class TorchPolicy:
    """Any registered policy as one torch module whose weights are swapped in place per genome
    (building the module once per worker, not once per episode)."""

    def __init__(self, spec: Policy):
        self.spec = spec
        self.module = spec.build_module().eval()

    def load(self, theta: np.ndarray) -> TorchPolicy:
        nn.utils.vector_to_parameters(torch.from_numpy(np.array(theta, dtype=np.float32)), self.module.parameters())
        return self

    def forward(self, obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.module(torch.from_numpy(np.asarray(obs, dtype=np.float32))[None])[0].numpy()

    def act(self, obs: np.ndarray):
        out = self.forward(obs)
        if self.spec.discrete:
            return int(np.argmax(out))
        return out * self.spec.act_scale
