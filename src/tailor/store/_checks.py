"""What stored rows must look like, and the checksums that make silent changes to them visible.

Every row the store writes carries a checksum of all its columns (its id included), so a byte
changed on disk (a bad sector, a partial copy, a stray write) cannot turn into a different metric,
state or configuration when read back: the study is refused as damaged instead. A study row also
counts its trials, so a trial that vanished is noticed as well. The checks on values (state, JSON,
numbering) hold for stores written before checksums existed, too.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tailor.store._records import COMPLETE, FAIL, STATES, WAITING, StudyRecord, TrialRecord

# The columns each checksum covers, in order.
STUDY_SUMMED = ("id", "name", "settings", "created", "n_trials")
TRIAL_SUMMED = ("id", "study_id", "number", "batch", "config_key", "config", "state", "metrics", "error",
                "duration_s", "tactic", "seed", "finished")


def checksum(values: Mapping[str, Any], columns: Sequence[str]) -> str:
    """16 hex digits of BLAKE2b over the columns' values, as JSON."""
    text = json.dumps([values[c] for c in columns], separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _json_object(text: Any) -> dict | None:
    if not isinstance(text, str):
        return None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def study_problems(row: Mapping[str, Any], summed: bool) -> list[str]:
    """What is wrong with one stored study row (empty: nothing)."""
    label = f"study {row['name']!r}" if isinstance(row["name"], str) else f"study row {row['id']!r}"
    out = []
    if not _is_int(row["id"]):
        out.append(f"{label}: id {row['id']!r} is not an integer")
    if not isinstance(row["name"], str) or not row["name"]:
        out.append(f"{label}: name {row['name']!r} is not a non-empty text")
    if _json_object(row["settings"]) is None:
        out.append(f"{label}: settings are not a JSON object")
    if not _is_num(row["created"]):
        out.append(f"{label}: creation time {row['created']!r} is not a number")
    if summed:
        if not _is_int(row["n_trials"]) or row["n_trials"] < 0:
            out.append(f"{label}: trial count {row['n_trials']!r} is not a count")
        if not out and row["checksum"] != checksum(row, STUDY_SUMMED):
            out.append(f"{label}: checksum does not match the row")
    return out


def trial_problems(row: Mapping[str, Any], summed: bool) -> list[str]:
    """What is wrong with one stored trial row (empty: nothing)."""
    label = f"trial {row['number']}" if _is_int(row["number"]) else f"trial row {row['id']!r}"
    out = [f"{label}: {c} {row[c]!r} is not an integer" for c in ("id", "study_id", "number", "batch", "seed")
           if not _is_int(row[c])]
    out += [f"{label}: {c} {row[c]!r} is negative" for c in ("number", "batch")
            if _is_int(row[c]) and row[c] < 0]
    out += [f"{label}: {c} is not text" for c in ("config_key", "tactic") if not isinstance(row[c], str)]
    state = row["state"]
    if state not in STATES:
        out.append(f"{label}: state {state!r} is not one of {', '.join(STATES)}")
    if _json_object(row["config"]) is None:
        out.append(f"{label}: configuration is not a JSON object")
    if state in (COMPLETE, FAIL):
        metrics = _json_object(row["metrics"])
        if metrics is None:
            out.append(f"{label}: {state} without metrics as a JSON object")
        elif not all(_is_num(v) and math.isfinite(v) for v in metrics.values()):
            out.append(f"{label}: metrics hold a value that is not a finite number")
        if not _is_num(row["finished"]):
            out.append(f"{label}: {state} without a finishing time")
    elif state == WAITING and (row["metrics"] is not None or row["finished"] is not None):
        out.append(f"{label}: WAITING but has metrics or a finishing time")
    if row["error"] is not None and not isinstance(row["error"], str):
        out.append(f"{label}: error message is not text")
    if row["duration_s"] is not None and not _is_num(row["duration_s"]):
        out.append(f"{label}: duration {row['duration_s']!r} is not a number")
    if summed and not out and row["checksum"] != checksum(row, TRIAL_SUMMED):
        out.append(f"{label}: checksum does not match the row")
    return out


def sequence_problems(numbers: Iterable[int], keys: Iterable[str], expected: int | None) -> list[str]:
    """A study's trials are numbered 0, 1, ... without gaps or repeats, each configuration once,
    and (``expected`` not None) as many as the study row counts."""
    numbers, out = sorted(numbers), []
    for i, n in enumerate(numbers):
        if n != i:
            out.append(f"trial number {i} is missing" if n > i else f"trial number {n} appears twice")
            break
    seen: set[str] = set()
    for k in keys:
        if k in seen:
            out.append(f"configuration {k} appears twice")
            break
        seen.add(k)
    if expected is not None and expected != len(numbers):
        out.append(f"the study counts {expected} trials, the table holds {len(numbers)}")
    return out


def to_study(row: Mapping[str, Any]) -> StudyRecord:
    return StudyRecord(int(row["id"]), row["name"], json.loads(row["settings"]))


def to_trial(row: Mapping[str, Any]) -> TrialRecord:
    duration = row["duration_s"]
    return TrialRecord(
        id=row["id"], number=row["number"], batch=row["batch"], key=row["config_key"],
        config=json.loads(row["config"]), state=row["state"],
        metrics=json.loads(row["metrics"]) if row["metrics"] else {}, error=row["error"],
        duration_s=None if duration is None else float(duration), tactic=row["tactic"], seed=row["seed"],
        owner=row.get("owner"), worker=row.get("worker"), claimed=row.get("claimed"),
        lease_until=row.get("lease_until"),
    )
