"""A problem added from outside tailor: one file, one ``register_problem`` call, no edit of ``cli/``.

A tiny elastic MLP (width and activation are searched) fitted to a fixed regression target: the
error of each sub-network with inherited weights against its parameter count. Small enough that a
search, a report and an export run in a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from tailor.measure import Evaluator
from tailor.measure.evaluators import ComplexityEvaluator
from tailor.objectives import Objective
from tailor.problems import BuildContext, Problem, register_problem
from tailor.space import Choice, Config, SearchSpace

ACTS = {"relu": nn.ReLU, "tanh": nn.Tanh}


class TinyElasticMLP(nn.Module):
    """6 inputs -> width (elastic prefix of 16 units) -> 1 output."""

    def __init__(self, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.fc1, self.fc2 = nn.Linear(6, 16), nn.Linear(16, 1)
        self.config: Config = {"width": 16, "act": "relu"}

    def space(self) -> SearchSpace:
        return SearchSpace([Choice("width", (4, 8, 12, 16), ordered=True), Choice("act", tuple(ACTS))])

    def activate(self, config: Config) -> None:
        self.config = self.space().validate(config)

    def subnet(self, config: Config) -> nn.Module:
        config = self.space().validate(config)
        w = config["width"]
        first, last = nn.Linear(6, w), nn.Linear(w, 1)
        with torch.no_grad():
            first.weight.copy_(self.fc1.weight[:w]), first.bias.copy_(self.fc1.bias[:w])
            last.weight.copy_(self.fc2.weight[:, :w]), last.bias.copy_(self.fc2.bias)
        return nn.Sequential(first, ACTS[config["act"]](), last)

    def example_input(self, batch_size: int = 1, config: Config | None = None) -> torch.Tensor:
        return torch.zeros(batch_size, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.subnet(self.config)(x)


class FitEvaluator(Evaluator):
    """Mean squared error of a sub-network on fixed data; scores exported models the same way."""

    metrics = {"error": "min"}

    def __init__(self, net: TinyElasticMLP, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.net, self.x = net, torch.randn(64, 6, generator=g)
        self.y = torch.sin(self.x.sum(1, keepdim=True))

    def score(self, model: nn.Module, config: Config) -> float:
        with torch.no_grad():
            return float(((model(self.x) - self.y) ** 2).mean())

    def evaluate(self, configs: Sequence[Config]) -> list[dict[str, float]]:
        return [{"error": self.score(self.net.subnet(c), c)} for c in configs]


@dataclass(frozen=True)
class ToyMLPOptions:
    seed: int = 0


@register_problem("toy_mlp", ToyMLPOptions, "a tiny elastic MLP: fit error vs parameters")
def toy_mlp(options: ToyMLPOptions, context: BuildContext) -> Problem:
    net = TinyElasticMLP(options.seed).eval()
    return Problem(
        name="toy_mlp", space=net.space(), evaluators=[FitEvaluator(net, options.seed), ComplexityEvaluator(net)],
        objectives=[Objective("error", "min"), Objective("params", "min")], supernet=net,
    )
