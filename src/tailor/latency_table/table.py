"""A profiled latency table (``tailor profile``) and the predictor built on it.

Prediction = scale * (sum over the sub-network's blocks of (entry - that entry's own call
overhead) + the network's one call overhead) + offset. The overheads are measured (null graphs,
``overhead.py``), not fitted; ``scale`` and ``offset`` are a robust correction
(``runner.fit_correction``: median ratio by default) on a handful of end-to-end measurements on
the same device, and its leave-one-out error is the uncertainty.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailor.errors import ConfigError
from tailor.latency_table.blocks import BlockFamily, jsonable
from tailor.latency_table.runner import FORMAT, network_key, overhead_aware_sum, table_fingerprint


class MissingBlockError(ConfigError):
    """A sub-network runs a block the table has no entry for."""

    def __init__(self, key: str, path: str):
        self.key = key
        super().__init__("latency", f"table {path} has no entry for block {key!r}; profile it again for this "
                         "space, or pass -o latency_missing=measure to measure missing blocks and add them")


@dataclass
class LatencyTable:
    """The parsed table file; ``data`` is the JSON object as written by the runner."""

    data: dict[str, Any]
    path: str = "<memory>"

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: str | Path) -> LatencyTable:
        """Read and validate a table file; every defect is a ``ConfigError`` naming the file."""
        p = Path(path)
        if not p.is_file():
            raise ConfigError("latency", f"table file not found: {p} (make one with 'tailor profile', or use "
                              "'measure')")
        try:
            data = json.loads(p.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ConfigError("latency", f"{p} is not a valid latency table: not JSON ({e})") from None
        return cls(cls._check(data, str(p)), str(p))

    @staticmethod
    def _check(data: Any, path: str) -> dict[str, Any]:
        def bad(why: str) -> ConfigError:
            return ConfigError("latency", f"{path} is not a valid latency table: {why}")

        if not isinstance(data, dict):
            raise bad("not a JSON object")
        if data.get("format") == "tailor-latency-table/1":
            raise ConfigError("latency", f"{path} is a version-1 table (no per-call overheads); profile the device "
                              f"again with 'tailor profile ... --out {Path(path).name}' (this tailor reads {FORMAT!r})")
        if data.get("format") != FORMAT:
            raise bad(f"format is {data.get('format')!r}, expected {FORMAT!r}")
        for key, kind in (("family", str), ("options", dict), ("entries", dict), ("networks", dict),
                          ("correction", dict), ("threads", int), ("fingerprint", str)):
            if not isinstance(data.get(key), kind):
                raise bad(f"field {key!r} missing or not a {kind.__name__}")
        for key, entry in data["entries"].items():
            for field in ("median_ms", "overhead_ms"):
                ms = entry.get(field) if isinstance(entry, dict) else None
                if not isinstance(ms, (int, float)) or not ms >= 0:
                    raise bad(f"entry {key!r} has no non-negative {field}")
        c = data["correction"]
        if not all(isinstance(c.get(f), (int, float)) for f in ("scale", "offset_ms")):
            raise bad("correction needs numbers 'scale' and 'offset_ms'")
        if c.get("kind") == "blocks" and not isinstance(c.get("per_block_ms"), (int, float)):
            raise bad("a 'blocks' correction needs the number 'per_block_ms'")
        if table_fingerprint(data) != data["fingerprint"]:
            raise bad("fingerprint does not match its contents (edited or truncated?)")
        return data

    # ---------------------------------------------------------------- identity
    @property
    def family(self) -> str:
        return self.data["family"]

    @property
    def fingerprint(self) -> str:
        return self.data["fingerprint"]

    @property
    def threads(self) -> int:
        return int(self.data["threads"])

    @property
    def rel_std(self) -> float | None:
        return self.data["correction"].get("rel_std")

    def check_family(self, name: str) -> None:
        if name != self.family:
            raise ConfigError("latency", f"table {self.path} was profiled for family {self.family!r}, this "
                              f"search uses {name!r}")

    def check_matches(self, family: BlockFamily) -> None:
        """Refuse a table profiled for another family or other sizes (shapes), naming the field."""
        self.check_family(family.family)
        mine, theirs = jsonable(family.options()), self.data["options"]
        for key in sorted(set(mine) | set(theirs)):
            if mine.get(key) != theirs.get(key):
                raise ConfigError("latency", f"table {self.path} was profiled for {key}={theirs.get(key)!r}, this "
                                  f"super-network has {key}={mine.get(key)!r}")

    # ---------------------------------------------------------------- prediction
    def _check_keys(self, keys: Sequence[str]) -> None:
        for k in keys:
            if k not in self.data["entries"]:
                raise MissingBlockError(k, self.path)
        if network_key(keys) not in self.data["networks"]:
            raise MissingBlockError(f"network overhead {network_key(keys)}", self.path)

    def block_sum(self, keys: Sequence[str]) -> float:
        """The plain sum of the entries (every block's call overhead included): a baseline only."""
        self._check_keys(keys)
        return float(sum(self.data["entries"][k]["median_ms"] for k in keys))

    def uncorrected(self, keys: Sequence[str]) -> float:
        """sum(entry - its call overhead) + the network's call overhead, before the correction."""
        self._check_keys(keys)
        return overhead_aware_sum(self.data["entries"], self.data["networks"], keys)

    def predict(self, keys: Sequence[str]) -> tuple[float, float | None]:
        """(predicted ms, its standard deviation in ms or ``None`` without calibration points)."""
        c = self.data["correction"]
        if c.get("kind") == "blocks":  # a * plain sum + b per block + c
            ms = float(c["scale"]) * self.block_sum(keys) + float(c["per_block_ms"]) * len(keys) + float(c["offset_ms"])
        else:
            ms = float(c["scale"]) * self.uncorrected(keys) + float(c["offset_ms"])
        return ms, (None if c.get("rel_std") is None else float(c["rel_std"]) * ms)

    def add_entries(self, measured: Mapping[str, Mapping[str, Any]],
                    networks: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Add freshly measured entries and network overheads (``latency_missing=measure``); re-sign."""
        self.data["entries"].update({k: dict(v) for k, v in measured.items()})
        self.data["networks"].update({k: dict(v) for k, v in (networks or {}).items()})
        self.data["fingerprint"] = table_fingerprint(self.data)
