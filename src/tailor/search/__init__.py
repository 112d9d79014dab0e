"""Search tactics (all minimise), the spec that builds them, and the Pareto/hypervolume tools they share."""

from __future__ import annotations

from tailor.search._spec import DEFAULT_TACTIC, TACTICS, SearchSpec, make_tactic, register_tactic, tactic_options
from tailor.search.base import Tactic
from tailor.search.evolutionary import EvolutionaryTactic
from tailor.search.history import History
from tailor.search.linas import LinasTactic
from tailor.search.pareto import hypervolume, hypervolume_curve, pareto_mask
from tailor.search.random import RandomTactic
from tailor.search.tailored import TailorTactic

__all__ = [
    "DEFAULT_TACTIC", "TACTICS", "EvolutionaryTactic", "History", "LinasTactic", "RandomTactic", "SearchSpec",
    "Tactic", "TailorTactic", "hypervolume", "hypervolume_curve", "make_tactic", "pareto_mask", "register_tactic",
    "tactic_options",
]
