"""The evaluator contract shared by table look-ups, latency meters and accuracy evaluators."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

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
