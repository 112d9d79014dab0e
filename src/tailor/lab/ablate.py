"""Tactic-variant ablations on NAS-Bench-201, run and scored exactly as ``tailor bench`` runs them.

A variant is a name that a module-level function turns into a configured ``Tactic`` (it is
built in the worker process, so the function must be picklable by reference). Results are the
same per-run records as ``tailor.bench.run_one`` returns, labelled with the variant's name, so
``tailor.bench.summarise`` and ``plot_curves`` apply unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from tailor.bench import ResultCallback, check_runs, run_many
from tailor.problems.nb201 import resolve_table
from tailor.search import Tactic

# The seven latency columns every NB201 study in docs/benchmarks/ ran on. The shared table has
# gained four more since (2080ti_1, 2080ti_32, pixel2, silver_4210r); pass them explicitly.
NB201_COLUMNS = ("latency_ms_pixel3", "latency_ms_raspi4", "latency_ms_eyeriss", "latency_ms_fpga",
                 "latency_ms_gold_6226", "latency_ms_titan_rtx_1", "latency_ms_titan_rtx_256")


def ablate(
    make_variant: Callable[[str], Tactic],
    variants: Sequence[str],
    latency_columns: Sequence[str],
    seeds: int,
    budget: int,
    jobs: int = 1,
    *,
    accuracy_column: str,
    table: str | None = None,
    on_result: ResultCallback | None = None,
) -> list[dict[str, Any]]:
    """Every (latency column, variant, seed) run, in that nesting order; ``table`` defaults to
    the NB201 table ``tailor bench`` finds. See ``tailor.bench.run_many`` for ``jobs`` and
    ``on_result``."""
    table = str(resolve_table(table))
    check_runs(table, accuracy_column, latency_columns, budget, seeds)
    work = [(table, accuracy_column, c, partial(make_variant, v), budget, s, v)
            for c in latency_columns for v in variants for s in range(seeds)]
    return run_many(work, jobs, on_result)


def ablation_table(rows: Sequence[dict[str, Any]]) -> str:
    """The summary rows (``tailor.bench.summarise``) as a fixed-width text table."""
    width = max([len("variant"), *(len(r["tactic"]) for r in rows)])
    lines = [f"{'column':28} {'variant':{width}} {'HV@100':>7} {'HV@300':>7} {'HV@500':>7} {'to 0.98':>7}"]
    for r in rows:
        reach = f"{r['evals_to_98']:7.0f}" if r["evals_to_98"] else f"{'-':>7}"
        cells = " ".join(f"{r[k]:7.4f}" if k in r else f"{'-':>7}" for k in ("hv@100", "hv@300", "hv@500"))
        lines.append(f"{r['latency_column']:28} {r['tactic']:{width}} {cells} {reach}")
    return "\n".join(lines)
