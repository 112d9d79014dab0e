"""A profiled latency table (``tailor profile``) and the predictor built on it.

Prediction = correction(sum of the entries of the blocks a sub-network runs, number of blocks);
the correction is the small linear model ``runner.fit_correction`` fitted on a handful of
end-to-end measurements on the same device, and its leave-one-out error is the uncertainty.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailor.errors import ConfigError
from tailor.latency_table.blocks import BlockFamily, jsonable
from tailor.latency_table.runner import FORMAT, table_fingerprint


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

        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise bad(f"format is not {FORMAT!r}")
        for key, kind in (("family", str), ("options", dict), ("entries", dict), ("correction", dict),
                          ("threads", int), ("fingerprint", str)):
            if not isinstance(data.get(key), kind):
                raise bad(f"field {key!r} missing or not a {kind.__name__}")
        for key, entry in data["entries"].items():
            ms = entry.get("median_ms") if isinstance(entry, dict) else None
            if not isinstance(ms, (int, float)) or not ms >= 0:
                raise bad(f"entry {key!r} has no non-negative median_ms")
        c = data["correction"]
        coef_ok = isinstance(c.get("coef"), list) and len(c["coef"]) == 2
        if not (coef_ok and isinstance(c.get("intercept"), (int, float))):
            raise bad("correction needs 'coef' [a, b] and 'intercept'")
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
    def block_sum(self, keys: Sequence[str]) -> float:
        entries = self.data["entries"]
        for k in keys:
            if k not in entries:
                raise MissingBlockError(k, self.path)
        return float(sum(entries[k]["median_ms"] for k in keys))

    def predict(self, keys: Sequence[str]) -> tuple[float, float | None]:
        """(predicted ms, its standard deviation in ms or ``None`` without calibration points)."""
        c = self.data["correction"]
        (a, b), intercept = c["coef"], c["intercept"]
        ms = a * self.block_sum(keys) + b * len(keys) + intercept
        return float(ms), (None if c.get("rel_std") is None else float(c["rel_std"]) * ms)

    def add_entries(self, measured: Mapping[str, Mapping[str, Any]]) -> None:
        """Add freshly measured entries (``latency_missing=measure``) and re-sign the table."""
        self.data["entries"].update({k: dict(v) for k, v in measured.items()})
        self.data["fingerprint"] = table_fingerprint(self.data)
