"""A problem: a search space, the evaluators that measure it, and the objectives to optimise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tailor.errors import ConfigError
from tailor.measure import Evaluator
from tailor.objectives import Objective
from tailor.space import SearchSpace


@dataclass
class Problem:
    """Everything a study needs to know about *what* it searches.

    ``settings`` is JSON-able and stored with the study, so a resumed run can check that it
    continues the same problem: ``build_problem`` puts the ``ProblemSpec`` there (``spec``), next
    to facts the builder derived (e.g. the trained checkpoint's path). ``spec`` is the spec the
    problem was built from (``None`` for a problem built by hand, e.g. in tests).

    ``seed_configs``: configurations the study always measures, in its first batch ahead of what
    the tactic proposes there (e.g. the space's largest and smallest, so the front spans the whole
    range); they are a function of the spec, so a resumed study plans the same batch.
    """

    name: str
    space: SearchSpace
    evaluators: Sequence[Evaluator]
    objectives: Sequence[Objective]
    settings: dict[str, Any] = field(default_factory=dict)
    supernet: Any = None  # the super-network behind the evaluators, when there is one (for export)
    spec: Any = None
    seed_configs: Sequence[dict[str, Any]] = ()

    def __post_init__(self) -> None:
        available = self.metrics()
        for o in self.objectives:
            if o.name not in available:
                raise ConfigError("objectives", f"no evaluator reports {o.name!r}", sorted(available))

    def metrics(self) -> dict[str, str]:
        """Every metric the evaluators report, with its natural direction."""
        out: dict[str, str] = {}
        for e in self.evaluators:
            out.update(e.metrics)
        return out
