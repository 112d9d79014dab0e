"""Search tactics (all minimise) and the Pareto/hypervolume tools they share."""

from __future__ import annotations

from tailor.errors import ConfigError, UnknownNameError
from tailor.search.base import Tactic
from tailor.search.evolutionary import EvolutionaryTactic
from tailor.search.history import History
from tailor.search.linas import LinasTactic
from tailor.search.pareto import hypervolume, hypervolume_curve, pareto_mask
from tailor.search.random import RandomTactic
from tailor.search.tailored import TailorTactic

DEFAULT_TACTIC = "tailor"
TACTICS: dict[str, type[Tactic]] = {
    "random": RandomTactic,
    "evolutionary": EvolutionaryTactic,
    "linas": LinasTactic,
    "tailor": TailorTactic,
}


def make_tactic(spec: str | None) -> Tactic:
    """Build a tactic from ``name`` or ``name:algorithm`` (evolutionary, linas: a pymoo MOEA).

    ``None`` or ``"default"`` gives tailor's default tactic.
    """
    spec = DEFAULT_TACTIC if spec in (None, "", "default") else spec.strip()
    name, _, algorithm = spec.partition(":")
    if name not in TACTICS:
        raise UnknownNameError("tactic", name, [*TACTICS, "default"])
    if algorithm:
        if name not in ("evolutionary", "linas"):
            raise ConfigError("tactic", f"{name!r} takes no algorithm", ["evolutionary:ALGO", "linas:ALGO"])
        return TACTICS[name](algorithm=algorithm)
    return TACTICS[name]()


__all__ = [
    "DEFAULT_TACTIC", "TACTICS", "EvolutionaryTactic", "History", "LinasTactic", "RandomTactic",
    "Tactic", "TailorTactic", "hypervolume", "hypervolume_curve", "make_tactic", "pareto_mask",
]
