"""The super-network protocol: what tailor needs from any weight-sharing model.

Implement these on your own ``nn.Module`` (no subclassing of tailor classes needed) and every
part of tailor (search, training, measurement, export) works with it. See docs/supernet.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from tailor.space import Config, SearchSpace


@runtime_checkable
class SuperNet(Protocol):
    """Required: ``space``, ``activate``, ``subnet``, ``example_input`` and ``forward``."""

    def space(self) -> SearchSpace:
        """The search space of sub-network configurations."""
        ...

    def activate(self, config: Config) -> None:
        """Select the active path in place (cheap): later ``forward`` calls run that sub-network."""
        ...

    def subnet(self, config: Config) -> nn.Module:
        """A standalone module with copied weights whose outputs equal the active path's."""
        ...

    def example_input(self, batch_size: int = 1, config: Config | None = None) -> torch.Tensor:
        """An input of the right shape (and resolution, for ``config``) for measurement/export."""
        ...

    def forward(self, x: torch.Tensor) -> torch.Tensor: ...


# ---------------------------------------------------------------- optional capabilities
# Checked with ``isinstance`` (runtime-checkable protocols), never with ``hasattr``: a family
# declares a capability by implementing the method.


@runtime_checkable
class HasExtremes(Protocol):
    """The family knows its own smallest and largest useful sub-networks (the sandwich rule's
    ends); without it they are the space's first and last values."""

    def extreme_configs(self) -> tuple[Config, Config]:
        """``(smallest, largest)`` configurations."""
        ...


@runtime_checkable
class HasChoiceParameters(Protocol):
    """The family can say which parameters each choice uses, so PA&DA scores paths by the
    gradients of exactly those parameters."""

    def choice_parameters(self) -> dict[tuple[str, int, int], Sequence[nn.Parameter]]:
        """``{(choice name, gene index, value index): parameters}``."""
        ...


@runtime_checkable
class TextEncoder(Protocol):
    """A sentence-encoder family, as retrieval agreement needs it."""

    def tokenize(self, sentences: Sequence[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(input_ids, attention_mask)``, padded to the longest sentence (at most ``max_length``)."""
        ...

    @property
    def active_config(self) -> Config:
        """The configuration ``forward`` runs now (restored after a temporary ``activate``)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What changes every sub-network's outputs (weights, importance ranking): a fingerprint part."""
        ...


@runtime_checkable
class HasSparsity(Protocol):
    """The family has a sparsity dimension with nested magnitude masks (``tailor.sparse.nested``)."""

    def rank_by_magnitude(self) -> None:
        """Rank the prunable weights by magnitude, fixing every level's mask (before a masked
        fine-tune, on trained weights)."""
        ...


def extreme_configs(supernet: SuperNet) -> tuple[Config, Config]:
    """(smallest, largest): the family's own ``extreme_configs`` if it has them, else the space's ends."""
    if isinstance(supernet, HasExtremes):
        return supernet.extreme_configs()
    space = supernet.space()
    return space.extreme("min"), space.extreme("max")
