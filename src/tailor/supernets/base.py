"""The super-network protocol: what tailor needs from any weight-sharing model.

Implement these on your own ``nn.Module`` (no subclassing of tailor classes needed) and every
part of tailor (search, training, measurement, export) works with it. See docs/supernet.md.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

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
