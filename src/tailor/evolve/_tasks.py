"""The task registry: a task is built from a stored, frozen ``TaskSpec`` (name + options), so the
driver, every Ray worker and the exporter rebuild the same environment and policy network.

A task gives the policy network, the GA defaults the paper's loop starts from, and one episode:
``episode(theta, seed) -> Episode`` (return, behaviour characterisation for novelty search,
frames). Tasks register once with ``register_task(name, options)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tailor.errors import ConfigError
from tailor.evolve._policy import Policy
from tailor.options import options_from_dict, options_to_dict
from tailor.registry import Registry

_BUILTIN_MODULES = ("tailor.evolve._gym_tasks", "tailor.evolve._image_maze")


@dataclass(frozen=True)
class Episode:
    """One episode's return, behaviour characterisation (e.g. final position) and frames."""

    ret: float
    behaviour: tuple[float, ...]
    frames: int
    reached: bool = False


@dataclass(frozen=True)
class GADefaults:
    """The Deep GA settings a task runs with unless the command line says otherwise."""

    population: int
    truncation: int
    sigma: float
    generations: int
    elite_episodes: int = 5
    archive_prob: float = 0.01  # novelty archive: chance that an evaluated individual is added
    solved_at: float | None = None  # elite return that counts as solved (stops the run early)
    parents_survive: bool = False  # novelty runs: the T parents compete again next generation


class Task(Protocol):
    """What the GA and its workers need from a task."""

    name: str
    policy: Policy
    defaults: GADefaults
    behaviour_dim: int

    def episode(self, theta: np.ndarray, seed: int) -> Episode:
        """Run one episode of the policy with flat weights ``theta``; ``seed`` seeds the env reset."""
        ...


@runtime_checkable
class TrajectoryTask(Protocol):
    """Optional: a task that can draw where a policy went (the maze)."""

    def trajectory(self, theta: np.ndarray, seed: int) -> np.ndarray: ...


Builder = Callable[[Any], Task]


_TASKS: Registry[Builder] = Registry("task", _BUILTIN_MODULES)
_entry = _TASKS.entry


def register_task(name: str, options: type, summary: str = "", revision: int = 1) -> Callable[[Builder], Builder]:
    """Decorator: register ``build(options) -> Task`` under ``name`` with its options dataclass.
    ``revision``: raised when the task's dynamics change, so a run stored under the old ones is
    refused on resume instead of continuing in a different world (stored only above 1)."""
    return _TASKS.register(name, options, summary, revision)


def list_tasks() -> dict[str, str]:
    """Registered task names with their one-line summaries."""
    return _TASKS.summaries()


@dataclass(frozen=True)
class TaskSpec:
    """A registered task's name and all its options (defaults filled in, unknown ones refused)."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parsed = options_from_dict(_entry(self.name).options, f"task {self.name}", dict(self.options))
        object.__setattr__(self, "options", options_to_dict(parsed))

    def build(self) -> Task:
        entry = _entry(self.name)
        return entry.build(options_from_dict(entry.options, f"task {self.name}", self.options))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TaskSpec:
        """The spec ``to_dict`` stored; refused (one line) if the task's dynamics changed since."""
        spec = cls(d["name"], d.get("options", {}))
        stored, now = d.get("revision", 1), _entry(spec.name).revision
        if stored != now:
            raise ConfigError("task", f"{spec.name!r} was stored at revision {stored}, "
                                      f"its dynamics are now revision {now}: rerun it")
        return spec

    def to_dict(self) -> dict[str, Any]:
        revision = _entry(self.name).revision
        return {"name": self.name, "options": dict(self.options), **({"revision": revision} if revision != 1 else {})}
