"""The block protocol of latency tables: which distinct blocks a family can run, and which a config runs.

A family's block enumerator (one small module per family, registered here by family name) says
for a built super-network:

* ``all_blocks()``: every distinct block variant any sub-network can contain, each keyed by a
  string that names everything its latency depends on (kind, input shape, channels, kernel...),
  with a builder for the standalone module and its example inputs;
* ``blocks(config)``: the keys a sub-network runs, in order (stem and head included), so its
  predicted latency is a sum of table entries;
* ``options()``: the super-network's sizes that change any block (a table is refused for others).

Kept apart from the family classes on purpose: a family needs no edit to get a table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from tailor.errors import UnknownNameError
from tailor.space import Config


@dataclass(frozen=True)
class BlockSpec:
    """One table entry to profile: ``build()`` -> (standalone module, example inputs, input names)."""

    key: str
    build: Callable[[], tuple[nn.Module, tuple[torch.Tensor, ...], list[str] | None]]


@runtime_checkable
class BlockFamily(Protocol):
    """A family's block enumeration (see the module docstring)."""

    family: str

    def options(self) -> dict[str, Any]: ...

    def all_blocks(self) -> dict[str, BlockSpec]: ...

    def blocks(self, config: Config) -> list[str]: ...


_REGISTRY: dict[str, Callable[[nn.Module], BlockFamily]] = {}


def register_blocks(family: str) -> Callable:
    """Decorator: ``cls(supernet)`` enumerates the blocks of registered family ``family``."""

    def decorator(cls):
        _REGISTRY[family] = cls
        return cls

    return decorator


def block_family(family: str, supernet: nn.Module) -> BlockFamily:
    """The block enumerator of ``supernet`` (built from registered family ``family``)."""
    from tailor.latency_table import families  # noqa: F401  (registers the built-in families)

    if family not in _REGISTRY:
        raise UnknownNameError("latency table family", family, _REGISTRY)
    return _REGISTRY[family](supernet)


def table_families() -> list[str]:
    from tailor.latency_table import families  # noqa: F401

    return sorted(_REGISTRY)


def jsonable(options: dict[str, Any]) -> dict[str, Any]:
    """Tuples as lists, as they come back from a JSON table."""
    import json

    return json.loads(json.dumps(options))


def conv_out(size: int, stride: int) -> int:
    """Spatial size after a padded (k // 2) odd-kernel conv or 3x3/s2/p1 pool: ceil(size / stride)."""
    return (size - 1) // stride + 1



def image_input(channels: int, size: int) -> tuple[torch.Tensor, ...]:
    """A fixed batch-1 image input for exporting a block (same tensor on every machine)."""
    return (torch.randn(1, channels, size, size, generator=torch.Generator().manual_seed(0)),)


class ImageFamilyBlocks:
    """What the image families' block tables share: the network, its sizes, and the sizes as the
    table records them (dropout does not change latency)."""

    def __init__(self, net: Any):
        self.net, self.args = net, net.args

    def options(self) -> dict[str, Any]:
        import dataclasses

        opts = {k: v for k, v in dataclasses.asdict(self.args).items() if k != "dropout"}
        if not opts.get("sparsities"):  # mobilenetv3's sparsity dimension, off: as tables recorded before it
            opts.pop("sparsities", None)
            opts.pop("sparse_block", None)
        if opts.get("sparsity_per") == "stage":  # the default, as tables recorded before the option
            opts.pop("sparsity_per")
        return opts
