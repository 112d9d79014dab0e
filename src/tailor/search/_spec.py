"""``SearchSpec``: how a study searches (tactic, every one of its settings, seed), validated once.

The study stores the tactic's full description (``Tactic.describe``) with the seed, so a resumed
study whose search settings changed is refused instead of silently mixing two searches.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tailor.errors import ConfigError, UnknownNameError
from tailor.search.base import Tactic
from tailor.search.evolutionary import EvolutionaryTactic
from tailor.search.linas import LinasTactic
from tailor.search.random import RandomTactic
from tailor.search.tailored import TailorTactic

DEFAULT_TACTIC = "tailor"
TACTICS: dict[str, type[Tactic]] = {
    "random": RandomTactic,
    "evolutionary": EvolutionaryTactic,
    "linas": LinasTactic,
    "tailor": TailorTactic,
}


def register_tactic(name: str, cls: type[Tactic]) -> None:
    """Make ``cls`` buildable by name (its constructor's keyword arguments are its options)."""
    old = TACTICS.get(name)
    if old is not None and old is not cls:
        raise ConfigError("tactic", f"name {name!r} is already registered")
    TACTICS[name] = cls


def tactic_options(name: str) -> list[str]:
    """The options tactic ``name`` takes: its constructor's keyword parameters."""
    cls = _tactic(name)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _tactic(name: str) -> type[Tactic]:
    try:
        return TACTICS[name]
    except KeyError:
        raise UnknownNameError("tactic", name, [*TACTICS, "default"]) from None


@dataclass(frozen=True)
class SearchSpec:
    """A tactic by name (``default`` = tailor's), its options and the study's seed."""

    tactic: str = DEFAULT_TACTIC
    options: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        name = DEFAULT_TACTIC if self.tactic in ("", "default") else self.tactic
        object.__setattr__(self, "tactic", name)
        allowed = tactic_options(name)
        for key in self.options:
            if key not in allowed:
                raise ConfigError(f"{name}.{key}", "unknown option", allowed)
        object.__setattr__(self, "options", dict(self.options))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ConfigError("seed", f"must be an integer in [0, 2**32), got {self.seed!r}")

    @classmethod
    def parse(cls, text: str | None, options: Mapping[str, Any] | None = None, seed: int = 0) -> SearchSpec:
        """``name`` or ``name:ALGORITHM`` (a pymoo MOEA for ``evolutionary`` and ``linas``)."""
        name, _, algorithm = (text or DEFAULT_TACTIC).strip().partition(":")
        opts = dict(options or {})
        if algorithm:
            if "algorithm" not in tactic_options(DEFAULT_TACTIC if name in ("", "default") else name):
                raise ConfigError("tactic", f"{name!r} takes no algorithm", ["evolutionary:ALGO", "linas:ALGO"])
            opts["algorithm"] = algorithm
        return cls(name, opts, seed)

    def build(self) -> Tactic:
        try:
            return _tactic(self.tactic)(**self.options)
        except (TypeError, ValueError) as e:  # a value of the wrong kind for the constructor
            raise ConfigError("tactic option", f"{e} (tactic {self.tactic!r})") from None

    def to_dict(self) -> dict[str, Any]:
        return {"tactic": self.tactic, "options": dict(self.options), "seed": self.seed}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpec:
        return cls(data.get("tactic", DEFAULT_TACTIC), dict(data.get("options") or {}), int(data.get("seed", 0)))


def make_tactic(text: str | None) -> Tactic:
    """Build a tactic from ``name`` or ``name:algorithm``; ``None`` or ``default`` gives tailor's."""
    return SearchSpec.parse(text).build()
