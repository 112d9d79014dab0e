"""NB201 cell blocks: stem, head, one entry per edge operation, one per sum into a node.

All stacked cells share the genotype and the shape (channels x image size), so the table holds
the four non-zero operations, the addition that merges two inputs of a node, and the constant a
cell outputs when no path reaches its output node.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from tailor.latency_table.blocks import BlockSpec, register_blocks
from tailor.measure.accuracy import track_batchnorm_stats
from tailor.space import Config
from tailor.supernets.cell import OPS, edge_list


class _Add(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class _Zeros(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


@register_blocks("nb201_cell")
class CellBlocks:
    family = "nb201_cell"

    def __init__(self, net: Any):
        self.net = net

    def options(self) -> dict[str, Any]:
        n = self.net
        return {"num_classes": n.num_classes, "in_channels": n.in_channels, "channels": n.channels,
                "n_nodes": n.n_nodes, "n_cells": n.n_cells, "image_size": n.image_size}

    def _shape(self) -> str:
        return f"c{self.net.channels}/h{self.net.image_size}"

    def blocks(self, config: Config) -> list[str]:
        ops, shape = self.net.space().validate(config)["op"], self._shape()
        keys = ["stem"]
        for _ in range(self.net.n_cells):  # the same walk as supernets.cell._cell_forward
            present = [True] + [False] * (self.net.n_nodes - 1)
            for op, (i, j) in zip(ops, edge_list(self.net.n_nodes), strict=True):
                if op == "none" or not present[i]:
                    continue
                keys.append(f"op/{op}/{shape}")
                if present[j]:
                    keys.append(f"add/{shape}")
                present[j] = True
            if not present[-1]:
                keys.append(f"zeros/{shape}")
        return [*keys, "head"]

    def all_blocks(self) -> dict[str, BlockSpec]:
        net, shape = self.net, self._shape()

        def x(c: int) -> torch.Tensor:
            return torch.randn(1, c, net.image_size, net.image_size, generator=torch.Generator().manual_seed(0))

        out = {
            "stem": BlockSpec("stem", lambda: (track_batchnorm_stats(copy.deepcopy(net.stem)), (x(net.in_channels),),
                                               None)),
            "head": BlockSpec("head", lambda: (track_batchnorm_stats(copy.deepcopy(net.head)), (x(net.channels),),
                                               None)),
            f"add/{shape}": BlockSpec(f"add/{shape}", lambda: (_Add(), (x(net.channels), x(net.channels)), None)),
            f"zeros/{shape}": BlockSpec(f"zeros/{shape}", lambda: (_Zeros(), (x(net.channels),), None)),
        }
        for k, op in enumerate(OPS):
            if op == "none":
                continue
            module = net.cells[0][0][k]
            out[f"op/{op}/{shape}"] = BlockSpec(f"op/{op}/{shape}", lambda m=module: (
                track_batchnorm_stats(copy.deepcopy(m)), (x(net.channels),), None))
        return out
