"""The problem registry: problems are built from a stored, frozen ``ProblemSpec``.

A problem registers its options dataclass and a builder once (``register_problem``); search,
report, export, bench and the benchmark scripts all rebuild the same problem from the same spec
(``build_problem``), and a study stores the spec, so a resumed or exported study gets back exactly
what it searched. Problems in other packages register through the ``tailor.plugins`` entry-point
group (each entry point names a module to import), so adding one takes one file and one
``register_problem`` call.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from tailor.errors import ConfigError, UnknownNameError
from tailor.options import options_from_dict, options_to_dict
from tailor.problems._problem import Problem

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


@dataclass(frozen=True)
class _Entry:
    options: type
    build: Builder
    summary: str


_REGISTRY: dict[str, _Entry] = {}
_loaded = False


def register_problem(name: str, options: type, summary: str = "") -> Callable[[Builder], Builder]:
    """Decorator: register ``build(options, context) -> Problem`` under ``name``.

    ``options`` is the problem's frozen options dataclass (its fields are the spec's options).
    Registering a different builder under a taken name is a ``ConfigError``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError("problem.name", f"must be an identifier, got {name!r}")

    def decorator(build: Builder) -> Builder:
        old = _REGISTRY.get(name)
        if old is not None and (old.build.__module__, old.build.__qualname__) != (build.__module__, build.__qualname__):
            raise ConfigError("problem", f"name {name!r} is already registered")
        _REGISTRY[name] = _Entry(options, build, summary or (build.__doc__ or "").strip().split("\n")[0])
        return build

    return decorator


def _load() -> None:
    """Import the built-in problems and the installed plugins, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group=PLUGIN_GROUP):
        importlib.import_module(ep.value.split(":")[0])


def _entry(name: str) -> _Entry:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError("problem", name, _REGISTRY) from None


def list_problems() -> dict[str, str]:
    """Registered problem names with their one-line summaries."""
    _load()
    return {name: _REGISTRY[name].summary for name in sorted(_REGISTRY)}


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
