"""The run loop: open (or resume) a stored run, step the GA, commit each generation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tailor.evolve._ga import Evaluator, GAConfig, initial_state, step
from tailor.evolve._store import EvolveStore
from tailor.evolve._tasks import TaskSpec


@dataclass(frozen=True)
class RunResult:
    records: list[dict[str, Any]]
    resumed_at: int  # generations already stored when this call started
    solved: bool


def run_config(task: TaskSpec, ga: GAConfig) -> dict[str, Any]:
    """The resolved settings stored with a run (compared on resume). ``parents_survive`` is stored
    only when on, so runs stored before it existed (all off) still resume."""
    d = dataclasses.asdict(ga)
    if not d["parents_survive"]:
        del d["parents_survive"]
    return {"task": task.to_dict(), **d}


def evolve(task: TaskSpec, ga: GAConfig, generations: int, store: EvolveStore, evaluator: Evaluator,
           name: str = "evolve", solved_at: float | None = None,
           on_generation: Callable[[dict[str, Any]], None] | None = None) -> RunResult:
    """Run up to ``generations`` generations (counting stored ones), stopping early once the elite's
    re-evaluated return reaches ``solved_at``. Every finished generation is committed before the next."""
    run_id, state = store.open_run(name, run_config(task, ga))
    records = store.records(run_id)
    resumed_at = len(records)
    if state is None:
        state = initial_state(ga)

    def solved() -> bool:
        return solved_at is not None and bool(records) and records[-1]["elite"] >= solved_at

    while state.generation < generations and not solved():
        state, record = step(ga, state, evaluator)
        store.commit_generation(run_id, record, state)
        records.append(record)
        if on_generation is not None:
            on_generation(record)
    return RunResult(records, resumed_at, solved())
