"""What every low-rank benchmark result records about where and how it was produced."""

from __future__ import annotations

from pathlib import Path

import torch

from tailor.lab.meta import run_metadata as lab_metadata

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results" / "lowrank"


def run_metadata() -> dict[str, object]:
    """The common record (``tailor.lab.meta``: git commit, machine, date, command) plus torch's threads."""
    return {**lab_metadata(), "torch_threads": torch.get_num_threads()}
