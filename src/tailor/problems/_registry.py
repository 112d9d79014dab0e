"""The problem registry: problems are built from a stored, frozen ``ProblemSpec``.

A problem registers its options dataclass and a builder once (``register_problem``); search,
report, export, bench and the benchmark scripts all rebuild the same problem from the same spec
(``build_problem``), and a study stores the spec, so a resumed or exported study gets back exactly
what it searched. Problems in other packages register through the ``tailor.plugins`` entry-point
group (each entry point names a module to import), so adding one takes one file and one
``register_problem`` call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tailor.errors import ConfigError
from tailor.options import options_from_dict, options_to_dict
from tailor.problems._problem import Problem
from tailor.registry import Registry

Builder = Callable[[Any, "BuildContext"], Problem]

_BUILTIN_MODULES = ("tailor.problems.nb201", "tailor.problems.supernet")
PLUGIN_GROUP = "tailor.plugins"


@dataclass(frozen=True)
class BuildContext:
    """How a problem is being built (not part of the spec: it does not change results).

    ``on_epoch``: progress callback for problems that train a super-network first.
    ``allow_training``: False when rebuilding a stored study (export): a problem whose trained
    weights are missing or unfinished must refuse instead of training again.
    """

    on_epoch: Callable[[dict], None] | None = None
    allow_training: bool = True


_PROBLEMS: Registry[Builder] = Registry("problem", _BUILTIN_MODULES, PLUGIN_GROUP)
_entry = _PROBLEMS.entry


def register_problem(name: str, options: type, summary: str = "") -> Callable[[Builder], Builder]:
    """Decorator: register ``build(options, context) -> Problem`` under ``name``.

    ``options`` is the problem's frozen options dataclass (its fields are the spec's options).
    Registering a different builder under a taken name is a ``ConfigError``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError("problem.name", f"must be an identifier, got {name!r}")
    return _PROBLEMS.register(name, options, summary)


def list_problems() -> dict[str, str]:
    """Registered problem names with their one-line summaries."""
    return _PROBLEMS.summaries()


def problem_options(name: str) -> type:
    """The options dataclass of problem ``name``."""
    return _entry(name).options


@dataclass(frozen=True)
class ProblemSpec:
    """What to search: a registered problem's name and its options, validated once.

    ``options`` holds every option of the problem, defaults filled in, so the stored spec says
    everything that changes results (an unknown option is a ``ConfigError`` naming it).
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parsed = options_from_dict(_entry(self.name).options, self.name, dict(self.options))
        object.__setattr__(self, "options", options_to_dict(parsed))

    def parsed(self) -> Any:
        """The options as the problem's dataclass."""
        return options_from_dict(_entry(self.name).options, self.name, self.options)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "options": dict(self.options)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProblemSpec:
        if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
            raise ConfigError("problem", "a stored problem spec needs a 'name' and 'options'")
        return cls(data["name"], dict(data.get("options") or {}))


def build_problem(spec: ProblemSpec, context: BuildContext | None = None) -> Problem:
    """Build the problem ``spec`` describes; its ``settings`` hold the spec and the builder's facts."""
    entry = _entry(spec.name)
    problem = entry.build(spec.parsed(), context or BuildContext())
    problem.settings = {"spec": spec.to_dict(), **problem.settings}
    problem.spec = spec
    return problem
