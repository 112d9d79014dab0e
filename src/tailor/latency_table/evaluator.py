"""``TableLatencyEvaluator``: latency predicted from a profiled table instead of measured.

Cheap (a dictionary sum), so the study treats it as an exact objective the tactic may call
freely, and deterministic, so every rerun and every tool sees the same number. Its fingerprint
carries the table's, so a study resumed with another table is refused by the settings check.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from tailor.errors import ConfigError
from tailor.latency_table.blocks import block_family
from tailor.latency_table.table import LatencyTable, MissingBlockError
from tailor.measure.base import Evaluator
from tailor.space import Config

MISSING = ("error", "measure")


class TableLatencyEvaluator(Evaluator):
    """``latency_ms`` from ``table`` (and ``latency_std_ms``, the predictor's uncertainty).

    ``missing``: what a block the table lacks does: ``error`` (a ``MissingBlockError`` naming it) or
    ``measure`` (profile it now, on this machine, and add it to the in-memory table; only right
    when this machine is the table's device).
    """

    metrics = {"latency_ms": "min"}
    expensive = False

    def __init__(self, supernet: nn.Module, family: str, table: LatencyTable, missing: str = "error"):
        if missing not in MISSING:
            raise ConfigError("latency_missing", f"got {missing!r}", MISSING)
        self.supernet, self.blocks = supernet, block_family(family, supernet)
        table.check_matches(self.blocks)
        self.table, self.missing = table, missing
        self._fingerprint = table.fingerprint  # of the table as loaded: added entries do not change it

    def predict(self, config: Config) -> tuple[float, float | None]:
        keys = self.blocks.blocks(config)
        try:
            return self.table.predict(keys)
        except MissingBlockError:
            if self.missing == "error":
                raise
        from tailor.latency_table.profile import measure_blocks, measure_network_overhead
        from tailor.latency_table.runner import network_key

        specs = self.blocks.all_blocks()
        lacking = [specs[k] for k in dict.fromkeys(keys) if k not in self.table.data["entries"]]
        m = self.table.data.get("method", {})
        counts = (m.get("rounds", 5), m.get("repeats", 20), m.get("warmup", 5))
        networks = {}
        if network_key(keys) not in self.table.data["networks"]:
            networks[network_key(keys)] = measure_network_overhead(self.supernet, config, specs[keys[-1]],
                                                                   self.table.threads, *counts)
        self.table.add_entries(measure_blocks(lacking, self.table.threads, *counts) if lacking else {}, networks)
        return self.table.predict(keys)

    def evaluate(self, configs: Sequence[Config]) -> list[dict[str, float]]:
        out = []
        for c in configs:
            ms, std = self.predict(c)
            out.append({"latency_ms": ms} if std is None else {"latency_ms": ms, "latency_std_ms": std})
        return out

    def fingerprint(self) -> str:
        return f"latency-table/{self.table.family}/t{self.table.threads}/{self._fingerprint}/{self.missing}"
