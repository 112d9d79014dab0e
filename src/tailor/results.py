"""Study results as files people read: CSV and JSON of all evaluations and the front, PNG plots."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tailor.errors import ConfigError
from tailor.objectives import Objective, to_minimisation
from tailor.search import hypervolume_curve, pareto_mask
from tailor.store import COMPLETE, TrialRecord


def objectives_of(settings: dict[str, Any]) -> list[Objective]:
    """The objectives a study was created with (stored as ``name:direction``)."""
    try:
        return [Objective(*s.split(":")) for s in settings["objectives"]]
    except (KeyError, TypeError, ValueError, ConfigError):
        raise ConfigError("study", "its stored settings name no valid objectives (damaged study?)") from None


def front(trials: Sequence[TrialRecord], objectives: Sequence[Objective]) -> list[TrialRecord]:
    """The completed trials that no other completed trial dominates, ordered by the first objective."""
    done = [t for t in trials if t.state == COMPLETE]
    if not done:
        return []
    F = to_minimisation([t.metrics for t in done], objectives)
    picked = [t for t, keep in zip(done, pareto_mask(F), strict=True) if keep]
    return sorted(picked, key=lambda t: objectives[0].sign * t.metrics[objectives[0].name])


def knee(front_trials: Sequence[TrialRecord], objectives: Sequence[Objective]) -> TrialRecord:
    """The front point closest to the ideal point after scaling each objective to [0, 1]."""
    F = to_minimisation([t.metrics for t in front_trials], objectives)
    lo, hi = F.min(0), F.max(0)
    Fn = (F - lo) / np.where(hi > lo, hi - lo, 1.0)
    return front_trials[int(np.argmin(np.linalg.norm(Fn, axis=1)))]


def check_pick(pick: str | None, max_latency: float | None) -> None:
    """Exactly one way to choose a trial."""
    if (pick is None) == (max_latency is None):
        raise ConfigError("pick", "give exactly one of --pick and --max-latency",
                          ["knee", "<number>", "<key>", "--max-latency MS"])


def pick_trial(trials: Sequence[TrialRecord], objectives: Sequence[Objective], pick: str | None = None,
               max_latency: float | None = None) -> TrialRecord:
    """One completed trial: the knee (``pick="knee"``), a trial number or key, or (``max_latency``)
    the best trial by the first non-latency objective with ``latency_ms <= max_latency``."""
    check_pick(pick, max_latency)
    done = [t for t in trials if t.state == COMPLETE]
    if not done:
        raise ConfigError("study", "has no completed evaluation")
    if max_latency is not None:
        if "latency_ms" not in {o.name for o in objectives}:
            raise ConfigError("max_latency", "the study has no latency_ms objective")
        fitting = [t for t in done if t.metrics["latency_ms"] <= max_latency]
        if not fitting:
            fastest = min(t.metrics["latency_ms"] for t in done)
            raise ConfigError("max_latency", f"no trial is that fast (fastest: {fastest:.3g} ms)")
        quality = next((o for o in objectives if o.name != "latency_ms"), None)
        if quality is None:
            return min(fitting, key=lambda t: t.metrics["latency_ms"])
        return max(fitting, key=lambda t: -quality.sign * t.metrics[quality.name])
    if pick == "knee":
        return knee(front(done, objectives), objectives)
    found = [t for t in done if str(t.number) == pick or t.key == pick]
    if not found:
        raise ConfigError("pick", f"no completed trial with number or key {pick!r}", ["knee", "<number>", "<key>"])
    return found[0]


def report(trials: Sequence[TrialRecord], objectives: Sequence[Objective]) -> dict[str, Any]:
    """``{"evaluations": [{"config", "metrics", ...}], "front": [...]}``, JSON-able."""

    def row(t: TrialRecord) -> dict[str, Any]:
        return {"number": t.number, "key": t.key, "config": t.config, "metrics": t.metrics,
                "state": t.state, "error": t.error, "duration_s": t.duration_s}

    return {
        "objectives": [{"name": o.name, "direction": o.direction} for o in objectives],
        "evaluations": [row(t) for t in trials],
        "front": [row(t) for t in front(trials, objectives)],
    }


def write_results(trials: Sequence[TrialRecord], objectives: Sequence[Objective], out: Path) -> dict[str, Path]:
    """Write evaluations.csv, front.csv, results.json, pareto.png and hypervolume.png into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    data = report(trials, objectives)
    paths = {
        "json": out / "results.json",
        "evaluations": out / "evaluations.csv",
        "front": out / "front.csv",
        "pareto_plot": out / "pareto.png",
        "hv_plot": out / "hypervolume.png",
    }
    paths["json"].write_text(json.dumps(data, indent=1))
    _write_csv(paths["evaluations"], data["evaluations"])
    _write_csv(paths["front"], data["front"])
    done = [t for t in trials if t.state == COMPLETE]
    if done:
        plot_pareto(done, objectives, paths["pareto_plot"])
        plot_hv(done, objectives, paths["hv_plot"])
    return paths


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    metric_names = sorted({k for r in rows for k in r["metrics"]})
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["number", "key", "state", *metric_names, "duration_s", "config"])
        for r in rows:
            w.writerow([r["number"], r["key"], r["state"], *[r["metrics"].get(m, "") for m in metric_names],
                        r["duration_s"], json.dumps(r["config"], sort_keys=True)])


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_pareto(trials: Sequence[TrialRecord], objectives: Sequence[Objective], path: Path) -> None:
    """Objective space (first two objectives) with every evaluation and the front."""
    plt = _plt()
    a, b = objectives[0], objectives[1] if len(objectives) > 1 else objectives[0]
    xs = np.array([t.metrics[b.name] for t in trials])
    ys = np.array([t.metrics[a.name] for t in trials])
    fr = front(trials, objectives)
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    ax.scatter(xs, ys, s=10, alpha=0.4, label=f"evaluated ({len(trials)})")
    fx = [t.metrics[b.name] for t in fr]
    fy = [t.metrics[a.name] for t in fr]
    order = np.argsort(fx)
    ax.step(np.array(fx)[order], np.array(fy)[order], where="post", color="C3", lw=1)
    ax.scatter(fx, fy, s=22, color="C3", label=f"Pareto front ({len(fr)})")
    ax.set_xlabel(f"{b.name} ({b.direction})")
    ax.set_ylabel(f"{a.name} ({a.direction})")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_hv(trials: Sequence[TrialRecord], objectives: Sequence[Objective], path: Path) -> None:
    """Hypervolume of the first n evaluations, scaled between the best and worst values seen."""
    plt = _plt()
    F = to_minimisation([t.metrics for t in trials], objectives)
    ideal, ref = F.min(0), F.max(0) + 1e-9
    hv = hypervolume_curve(F, ref, ideal)
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    ax.plot(np.arange(1, len(hv) + 1), hv)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("hypervolume (normalised)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
