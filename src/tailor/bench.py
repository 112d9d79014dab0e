"""Benchmarks on ground-truth tables: how fast does each tactic approach the true Pareto front?

Score of a run after n evaluations: hypervolume of its first n measurements divided by that of
the true front (computed from the whole table), both after scaling each objective to [0, 1]
between the ideal point (table minimum) and the reference point: the 85th percentile of the
accuracy column's error (15.12 % for CIFAR-10, 45.34 % for CIFAR-100: it lies above the front of
any accuracy column, where a fixed 15 % lies below every CIFAR-100 cell) and each latency
column's maximum. A multi-objective problem (several latency columns) is scored the same way,
with hypervolume in 3 or 4 dimensions.

The library behind ``tailor bench``; it prints nothing (the CLI does). Research runners built on
it (tactic-variant ablations, peer comparisons) live in ``tailor.lab``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from tailor.errors import ConfigError
from tailor.problems import ProblemSpec, build_problem
from tailor.search import Tactic, hypervolume, hypervolume_curve, make_tactic
from tailor.store import open_store
from tailor.study import Study

CHECKPOINTS = (50, 100, 200, 300, 500)
ERROR_PERCENTILE = 85.0  # the reference error: this percentile of the accuracy column's error
CURVE_STEP = 5

# A tactic as a run takes it: a registered name, a configured Tactic, or a picklable zero-argument
# factory (e.g. ``functools.partial`` of a module-level function) that builds it in the worker.
TacticSpec = str | Tactic | Callable[[], Tactic]
ResultCallback = Callable[[dict[str, Any]], None]


def nb201_reference(all_F: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Ideal point, reference point and true-front hypervolume of an (error, latency...) table:
    the reference error is the ``ERROR_PERCENTILE`` of the error column, each latency's the
    column's maximum (as before, so two-objective CIFAR-10 scores stay comparable)."""
    ideal = all_F.min(axis=0)
    ref = np.r_[np.percentile(all_F[:, 0], ERROR_PERCENTILE), all_F[:, 1:].max(axis=0)]
    return ideal, ref, hypervolume(all_F, ref, ideal)


@lru_cache(maxsize=16)
def _problem(table: str, accuracy_column: str, latency_column: str):
    """Parsing the table is the slow part of a run's set-up; runs in one process share it."""
    return build_problem(ProblemSpec("nb201", {"table": str(table), "accuracy_column": accuracy_column,
                                               "latency_column": latency_column}))


def score_trace(F: np.ndarray, ideal: np.ndarray, ref: np.ndarray, true_hv: float,
                budget: int) -> dict[str, Any]:
    """Score a run from the objective vectors it measured, in measurement order.

    Any tool's trace is scored this way (tailor's tactics and the peers alike), so a repeated
    measurement of a configuration counts as an evaluation, exactly as it cost one.
    """
    ratios = hypervolume_curve(F, ref, ideal) / true_hv
    reach = {q: next((i + 1 for i, r in enumerate(ratios) if r >= q), None) for q in (0.98, 0.99)}
    return {
        "budget": budget,
        "evaluations": len(F),
        "hv_ratio": {str(n): float(ratios[min(n, len(ratios)) - 1]) for n in CHECKPOINTS if n <= budget},
        "evals_to_98": reach[0.98],
        "evals_to_99": reach[0.99],
        "curve_step": CURVE_STEP,
        "hv_curve": [float(r) for r in ratios[CURVE_STEP - 1 :: CURVE_STEP]],
    }


def nb201_scoring(table: str, accuracy_column: str, latency_column: str):
    """The (cached) problem and its ideal point, reference point and true-front hypervolume."""
    problem = _problem(table, accuracy_column, latency_column)
    return (problem, *nb201_reference(problem.evaluators[0].all_objectives()))


def _build(tactic: TacticSpec) -> Tactic:
    if isinstance(tactic, str):
        return make_tactic(tactic)
    return tactic if isinstance(tactic, Tactic) else tactic()


def run_one(
    table: str, accuracy_column: str, latency_column: str, tactic: TacticSpec, budget: int, seed: int,
    label: str | None = None,
) -> dict[str, Any]:
    """One seeded run of one tactic (a name, a configured ``Tactic`` or a factory of one, for
    ablations) on one problem (a latency column, or several joined by ``+``), scored against the
    true front; ``label`` names it in the
    results (default: the name given, else the tactic's own name)."""
    problem, ideal, ref, true_hv = nb201_scoring(table, accuracy_column, latency_column)
    tactic_obj = _build(tactic)
    study = Study(problem, tactic_obj, open_store("sqlite://"), name="bench", seed=seed)
    stats = study.optimize(budget)
    evaluator = problem.evaluators[0]
    F = np.array([evaluator.objective_vector(t.metrics) for t in study.trials()])
    return {
        "tactic": label or (tactic if isinstance(tactic, str) else tactic_obj.name),
        "accuracy_column": accuracy_column,
        "latency_column": latency_column,
        "seed": seed,
        **score_trace(F, ideal, ref, true_hv, budget),
        "overhead_s_per_eval": stats.overhead_s / max(stats.evaluated, 1),
    }


def run_many(runs: Sequence[tuple], jobs: int = 1, on_result: ResultCallback | None = None) -> list[dict[str, Any]]:
    """``run_one(*args)`` for every ``args`` in ``runs``, results in the order of ``runs``.

    ``jobs`` > 1 runs them in worker processes (overhead timings then share the CPU, so compare
    those only from ``jobs=1`` runs). ``on_result`` is called with each result as it arrives.
    """
    results: list[dict[str, Any]] = []
    if jobs <= 1:
        for args in runs:
            results.append(run_one(*args))
            if on_result:
                on_result(results[-1])
        return results
    with ProcessPoolExecutor(jobs) as pool:
        for r in pool.map(_run_star, runs):
            results.append(r)
            if on_result:
                on_result(r)
    return results


def _run_star(args: tuple) -> dict[str, Any]:
    return run_one(*args)


def run_nb201(table: str, accuracy_column: str | Sequence[str], latency_columns: Sequence[str],
              tactics: Sequence[str], budget: int, seeds: int, jobs: int = 1,
              on_result: ResultCallback | None = None) -> list[dict[str, Any]]:
    """Every (accuracy column, latency column(s), tactic, seed) run; an entry of
    ``latency_columns`` may join several with ``+`` (a multi-objective problem). See
    ``run_many`` for ``jobs`` and ``on_result``."""
    accuracy_columns = [accuracy_column] if isinstance(accuracy_column, str) else list(accuracy_column)
    for a in accuracy_columns:
        check_runs(table, a, latency_columns, budget, seeds, tactics)
    work = [(table, a, c, t, budget, s) for a in accuracy_columns for c in latency_columns for t in tactics
            for s in range(seeds)]
    return run_many(work, jobs, on_result)


def check_runs(table: str, accuracy_column: str, latency_columns: Sequence[str], budget: int, seeds: int,
               tactics: Sequence[str] = ()) -> None:
    """Validate a batch of runs before the long part starts: budget, seeds, tactic names, and
    every column of the table (which also parses it once)."""
    if budget < 1:
        raise ConfigError("budget", f"must be >= 1, got {budget}")
    if seeds < 1:
        raise ConfigError("seeds", f"must be >= 1, got {seeds}")
    for t in tactics:
        make_tactic(t)
    for col in latency_columns:
        _problem(table, accuracy_column, col)


def summarise(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median over seeds per (accuracy column, latency column(s), tactic)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r.get("accuracy_column", ""), r["latency_column"], r["tactic"]), []).append(r)
    rows = []
    for (acc, col, tactic), rs in groups.items():
        row: dict[str, Any] = {"accuracy_column": acc, "latency_column": col, "tactic": tactic, "seeds": len(rs)}
        for n in rs[0]["hv_ratio"]:
            row[f"hv@{n}"] = float(np.median([r["hv_ratio"][n] for r in rs]))
        for q in ("98", "99"):
            reached = [r[f"evals_to_{q}"] if r[f"evals_to_{q}"] is not None else np.inf for r in rs]
            med = float(np.median(reached))
            row[f"evals_to_{q}"] = None if not np.isfinite(med) else med
        row["overhead_ms_per_eval"] = float(np.median([r["overhead_s_per_eval"] for r in rs]) * 1000)
        rows.append(row)
    return rows


def plot_curves(results: Sequence[dict[str, Any]], path: Path, ylabel: str = "HV / true HV",
                ylim: tuple[float, float] = (0.8, 1.0)) -> None:
    """Median HV ratio against evaluations, one panel per problem (accuracy and latency
    columns), one line per tactic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = list(dict.fromkeys(problem_key(r) for r in results))
    tactics = list(dict.fromkeys(r["tactic"] for r in results))
    ncol = min(4, len(cols))
    nrow = int(np.ceil(len(cols) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3.2 * nrow), dpi=110, squeeze=False)
    for ax, col in zip(axes.ravel(), cols, strict=False):
        for i, t in enumerate(tactics):
            curves = [r["hv_curve"] for r in results if problem_key(r) == col and r["tactic"] == t]
            if not curves:
                continue
            n = min(len(c) for c in curves)
            C = np.array([c[:n] for c in curves])
            x = np.arange(1, n + 1) * results[0]["curve_step"]
            ax.plot(x, np.median(C, 0), label=t, color=f"C{i}")
            ax.fill_between(x, np.percentile(C, 25, 0), np.percentile(C, 75, 0), color=f"C{i}", alpha=0.15)
        ax.axhline(0.99, color="k", lw=0.6, ls=":")
        ax.set_ylim(*ylim)
        ax.set_title(col, fontsize=9)
        ax.set_xlabel("evaluations")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(cols):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def problem_key(result: dict[str, Any]) -> str:
    """Short name of a run's problem: ``pixel3+gold_6226``, prefixed by ``cifar100: `` for any
    accuracy column but CIFAR-10's."""
    devices = result["latency_column"].replace("latency_ms_", "")
    acc = result.get("accuracy_column", "cifar10_test_acc")
    return devices if acc == "cifar10_test_acc" else f"{acc.replace('_test_acc', '')}: {devices}"


def timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")
