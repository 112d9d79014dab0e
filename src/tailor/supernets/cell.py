"""A cell search space in the NAS-Bench-201 shape, as a weight-sharing super-network.

A cell is a DAG of ``n_nodes`` nodes; node ``j`` sums one operation per incoming edge
``i -> j`` (``i < j``), edges ordered as in NAS-Bench-201: (0->1), (0->2), (1->2), (0->3), ...
Every edge picks one of five ops: ``none`` (zero), ``skip_connect``, ``nor_conv_1x1`` and
``nor_conv_3x3`` (ReLU-Conv-BN) and ``avg_pool_3x3``. All stacked cells share the genotype, as
in NAS-Bench-201, but each cell and edge owns its candidate weights.

Batch norms use batch statistics in training *and* evaluation (``track_running_stats=False``,
as NAS-Bench-201's super-networks do): every sub-network is then scored with its own statistics
and no recalibration pass is needed. Evaluate with batches of reasonable size (>= 32).
``AccuracyEvaluator`` and ``tailor export`` give the standalone sub-network fixed, re-calibrated
statistics instead (``tailor.measure.accuracy.track_batchnorm_stats``), so it runs at batch 1.

Optional parts of the ``SuperNet`` protocol implemented here (the trainer uses them when
present and falls back otherwise):

* ``choice_parameters() -> dict[(dimension, block, value_index), list[Parameter]]``: the
  parameters owned by one candidate. PA&DA's path sampler scores each candidate by its own
  gradient norm; families with shared, sliced weights omit it and the sampler falls back to the
  gradient norm of the whole active path (see ``tailor.train.paths``).
* ``extreme_configs() -> (smallest, largest)``: the sandwich rule's ends, when the value order of
  the space does not give them (here ``avg_pool_3x3`` is last but is not the largest op).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.space import Choice, Config, SearchSpace
from tailor.supernets.registry import register_supernet

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


class _ReLUConvBN(nn.Sequential):
    def __init__(self, channels: int, kernel: int):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(channels, track_running_stats=False),
        )


def _make_op(name: str, channels: int) -> nn.Module | None:
    """``None`` stands for the zero op: its edge is skipped instead of computed."""
    if name == "none":
        return None
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return _ReLUConvBN(channels, 1)
    if name == "nor_conv_3x3":
        return _ReLUConvBN(channels, 3)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ConfigError("op", f"unknown op {name!r}", OPS)


def edge_list(n_nodes: int) -> list[tuple[int, int]]:
    """Edges ``(src, dst)`` in NAS-Bench-201 order: by destination, then source."""
    return [(i, j) for j in range(1, n_nodes) for i in range(j)]


def _cell_forward(
    ops: list[nn.Module | None], edges: list[tuple[int, int]], n_nodes: int, x: torch.Tensor
) -> torch.Tensor:
    nodes: list[torch.Tensor | None] = [x] + [None] * (n_nodes - 1)
    for op, (i, j) in zip(ops, edges, strict=True):
        if op is None or nodes[i] is None:  # zero op, or zero input: contributes nothing
            continue
        y = op(nodes[i])
        nodes[j] = y if nodes[j] is None else nodes[j] + y
    out = nodes[-1]
    return torch.zeros_like(x) if out is None else out


def _stem(in_channels: int, channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels, track_running_stats=False),
    )


def _head(channels: int, num_classes: int) -> nn.Sequential:
    return nn.Sequential(
        nn.BatchNorm2d(channels, track_running_stats=False),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(channels, num_classes),
    )


class CellSubNet(nn.Module):
    """One fixed cell architecture: what ``CellSuperNet.subnet`` returns (weights copied)."""

    def __init__(self, stem: nn.Module, cells: list[list[nn.Module | None]], head: nn.Module, n_nodes: int):
        super().__init__()
        self.stem, self.head, self.n_nodes = stem, head, n_nodes
        self.edges = edge_list(n_nodes)
        # ModuleList cannot hold None: keep zero ops as Identity placeholders plus a mask.
        self.cells = nn.ModuleList(nn.ModuleList(nn.Identity() if op is None else op for op in cell) for cell in cells)
        self.zero = [[op is None for op in cell] for cell in cells]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # (B, C, H, W)
        for ops, zero in zip(self.cells, self.zero, strict=True):
            x = _cell_forward(
                [None if z else op for op, z in zip(ops, zero, strict=True)],
                self.edges,
                self.n_nodes,
                x,
            )
        return self.head(x)  # (B, num_classes)


class CellSuperNet(nn.Module):
    """NAS-Bench-201-shaped weight-sharing super-network (implements ``SuperNet``).

    Args:
        num_classes: outputs of the classifier.
        in_channels: input image channels.
        channels: width of every cell.
        n_nodes: nodes per cell (3 -> 3 edges, 125 cells; 4 -> 6 edges, 15625 as NAS-Bench-201).
        n_cells: stacked cells sharing one genotype (no reduction cells: inputs are small).
        image_size: side of the square ``example_input``.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        channels: int = 16,
        n_nodes: int = 3,
        n_cells: int = 1,
        image_size: int = 8,
    ):
        super().__init__()
        for field, value, low in (
            ("num_classes", num_classes, 2),
            ("in_channels", in_channels, 1),
            ("channels", channels, 1),
            ("n_nodes", n_nodes, 2),
            ("n_cells", n_cells, 1),
            ("image_size", image_size, 1),
        ):
            if not isinstance(value, int) or value < low:
                raise ConfigError(f"nb201_cell.{field}", f"must be an integer >= {low}, got {value!r}")
        self.num_classes, self.in_channels, self.channels = num_classes, in_channels, channels
        self.n_nodes, self.n_cells, self.image_size = n_nodes, n_cells, image_size
        self.edges = edge_list(n_nodes)
        self.stem = _stem(in_channels, channels)
        self.cells = nn.ModuleList(
            nn.ModuleList(
                nn.ModuleList(nn.Identity() if op is None else op for op in (_make_op(name, channels) for name in OPS))
                for _ in self.edges
            )
            for _ in range(n_cells)
        )
        self.head = _head(channels, num_classes)
        self._space = SearchSpace([Choice("op", OPS, repeat=len(self.edges))])
        self._active: list[int] = [OPS.index("nor_conv_3x3")] * len(self.edges)

    # ------------------------------------------------------------------ protocol
    def space(self) -> SearchSpace:
        return self._space

    def activate(self, config: Config) -> None:
        config = self._space.validate(config)
        self._active = [OPS.index(v) for v in config["op"]]

    def active_config(self) -> Config:
        return {"op": [OPS[i] for i in self._active]}

    def _ops(self, cell: nn.ModuleList, active: list[int]) -> list[nn.Module | None]:
        return [None if OPS[k] == "none" else cell[e][k] for e, k in enumerate(active)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # (B, C, H, W)
        for cell in self.cells:
            x = _cell_forward(self._ops(cell, self._active), self.edges, self.n_nodes, x)
        return self.head(x)  # (B, num_classes)

    def subnet(self, config: Config) -> nn.Module:
        config = self._space.validate(config)
        active = [OPS.index(v) for v in config["op"]]
        cells = [[None if op is None else copy.deepcopy(op) for op in self._ops(cell, active)] for cell in self.cells]
        return CellSubNet(copy.deepcopy(self.stem), cells, copy.deepcopy(self.head), self.n_nodes)

    def example_input(self, batch_size: int = 1, config: Config | None = None) -> torch.Tensor:
        return torch.randn(batch_size, self.in_channels, self.image_size, self.image_size)

    # ------------------------------------------------------------------ optional protocol
    def choice_parameters(self) -> dict[tuple[str, int, int], list[nn.Parameter]]:
        """(dimension, block, value index) -> the parameters that candidate alone owns.

        Block = edge index; a candidate's parameters span all stacked cells. Parameter-free ops
        (none, skip, pool) map to an empty list.
        """
        return {
            ("op", e, k): [p for cell in self.cells for p in cell[e][k].parameters()]
            for e in range(len(self.edges))
            for k in range(len(OPS))
        }

    def extreme_configs(self) -> tuple[Config, Config]:
        """(smallest, largest) for the sandwich rule: all ``skip_connect`` and all ``nor_conv_3x3``.

        ``none`` everywhere would be smaller but outputs a constant, so it teaches nothing.
        """
        n = len(self.edges)
        return {"op": ["skip_connect"] * n}, {"op": ["nor_conv_3x3"] * n}


@dataclass(frozen=True)
class CellArgs:
    """Sizes of the NAS-Bench-201-shaped cell super-network (see ``CellSuperNet``)."""

    num_classes: int = 10
    in_channels: int = 1
    channels: int = 16
    n_nodes: int = 3
    n_cells: int = 1
    image_size: int = 8


@register_supernet("nb201_cell", options=CellArgs)
def nb201_cell(args: CellArgs) -> nn.Module:
    """The NAS-Bench-201-shaped cell super-network."""
    return CellSuperNet(**dataclasses.asdict(args))
