"""Named builders with their options dataclass: the one registry shape problems and tasks share.

A component registers ``(options dataclass, builder)`` once under a name; specs look the entry up
by name. Built-in modules (and, where given, an entry-point group's modules) are imported on
first use, so registering is a decorator in the module that defines the builder.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from tailor.errors import ConfigError, UnknownNameError

B = TypeVar("B", bound=Callable[..., Any])


@dataclass(frozen=True)
class Entry(Generic[B]):
    options: type
    build: B
    summary: str
    revision: int = 1  # raised when what the builder makes changes meaning (stored specs record it)


class Registry(Generic[B]):
    """``kind`` names the component in errors ("problem", "task")."""

    def __init__(self, kind: str, builtin_modules: Sequence[str], plugin_group: str | None = None):
        self.kind, self.builtin_modules, self.plugin_group = kind, tuple(builtin_modules), plugin_group
        self._entries: dict[str, Entry[B]] = {}
        self._loaded = False

    def register(self, name: str, options: type, summary: str = "", revision: int = 1) -> Callable[[B], B]:
        """Decorator: register ``build`` under ``name``; another builder under a taken name is a ConfigError."""

        def decorator(build: B) -> B:
            old = self._entries.get(name)
            if old is not None and (old.build.__module__, old.build.__qualname__) != (build.__module__,
                                                                                      build.__qualname__):
                raise ConfigError(self.kind, f"name {name!r} is already registered")
            self._entries[name] = Entry(options, build, summary or (build.__doc__ or "").strip().split("\n")[0],
                                        revision)
            return build

        return decorator

    def _load(self) -> None:
        """Import the built-in modules and the installed plugins, once."""
        if self._loaded:
            return
        self._loaded = True
        for module in self.builtin_modules:
            importlib.import_module(module)
        if self.plugin_group:
            for ep in entry_points(group=self.plugin_group):
                importlib.import_module(ep.value.split(":")[0])

    def entry(self, name: str) -> Entry[B]:
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._entries) from None

    def summaries(self) -> dict[str, str]:
        """Registered names with their one-line summaries, sorted."""
        self._load()
        return {name: self._entries[name].summary for name in sorted(self._entries)}
