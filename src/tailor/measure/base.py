"""The evaluator contract shared by table look-ups, latency meters and accuracy evaluators."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from tailor.space import Config


class Evaluator(ABC):
    """Measures a batch of configurations.

    Subclasses set ``metrics`` (metric name -> natural direction, 'min' or 'max') and
    ``expensive``. Cheap evaluators (MACs, params) may be called freely inside a search's
    predicted inner loop; expensive ones (accuracy, measured latency) count against the budget.
    """

    metrics: dict[str, str] = {}
    expensive: bool = True

    @abstractmethod
    def evaluate(self, configs: Sequence[Config]) -> list[dict[str, float]]:
        """Return one ``{metric: value}`` dict per configuration, in order.

        Called with a batch so that implementations can vectorise or spread work over workers.
        Raise an exception (or return NaN) for a configuration that cannot be measured; the
        study records that trial as failed.
        """

    def fingerprint(self) -> str:
        """What makes results comparable (device, backend, input shape); part of cache keys."""
        return type(self).__name__


# ---------------------------------------------------------------- optional capabilities
# Checked with ``isinstance`` (runtime-checkable protocols); export and verification use them.


@runtime_checkable
class Scoring(Protocol):
    """The evaluator can score a standalone model (an exported sub-network) on its single metric,
    exactly as it scored the configuration in the study."""

    metrics: dict[str, str]

    def score(self, model: Any, config: Config) -> float: ...


@runtime_checkable
class Calibrating(Protocol):
    """The evaluator scores a sub-network after adapting it (batch-norm re-calibration); export
    writes that adapted model, so the file is the model the study scored."""

    @property
    def recalibrates(self) -> bool:
        """Whether ``calibrated_subnet`` changes anything (False: no calibration data)."""
        ...

    def calibrated_subnet(self, config: Config) -> Any: ...
