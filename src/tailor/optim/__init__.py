"""Memory-efficient optimizers: GaLore and Fira (low-rank Adam state, full-rank updates).

``build_optimizer("adamw" | "galore" | "fira", model, lr, weight_decay, rank, **opts)`` is the
one call a trainer needs; ``state_bytes`` and ``peak_rss_bytes`` report what they cost.
"""

from tailor.optim._groups import OPTIMIZERS, build_optimizer, lowrank_param_groups, projected_weights
from tailor.optim._lowrank import PROJ_TYPES, SCALINGS, Fira, GaLore, projection_side
from tailor.optim._memory import peak_rss_bytes, state_bytes

__all__ = [
    "OPTIMIZERS",
    "PROJ_TYPES",
    "SCALINGS",
    "Fira",
    "GaLore",
    "build_optimizer",
    "lowrank_param_groups",
    "peak_rss_bytes",
    "projected_weights",
    "projection_side",
    "state_bytes",
]
