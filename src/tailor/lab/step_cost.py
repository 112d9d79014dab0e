"""PA&DA's cost per training step against SPOS's, timed with the samplers' epochs interleaved.

Three trainers: ``spos`` (one uniform path, uniform data); ``padad_tau0`` (all of PA&DA's
machinery, path and data scores and resampling, with tau held at 0, i.e. the same path and data
mix as SPOS: its extra time is PA&DA's overhead); ``padad`` (PA&DA as trained, tau 0 -> 1 over
the timed epochs). Their epochs are interleaved so that load from other processes hits all of
them alike.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tailor.lab.probes import ProbedTrainer
from tailor.train import DataSplit, TrainSpec

TIMED = {  # name -> (sampler, tau_ramp); padad_tau0 runs all of PA&DA's machinery but keeps
    # tau ~ 0, i.e. the same (uniform) path and data mix as SPOS: its extra time is pure overhead
    "spos": ("spos", 1.0),
    "padad": ("padad", 1.0),
    "padad_tau0": ("padad", 1e9),
}


def interleaved_step_times(
    data: DataSplit,
    *,
    supernet: str = "nb201_cell",
    supernet_kwargs: Mapping[str, Any] | None = None,
    param_free: str = "zero",
    batch_size: int = 64,
    lr: float = 0.1,
    repeats: int = 12,
    samplers: Sequence[str] = tuple(TIMED),
) -> dict[str, dict[str, float]]:
    """Median ms/step per sampler over ``repeats`` interleaved epochs (no variance tracking, no
    evaluation): wall time, process CPU time (insensitive to preemption on a shared machine) and
    the samplers' own work (thread CPU time inside their calls during the steps)."""
    trainers = {
        s: ProbedTrainer(
            TrainSpec(
                supernet=supernet,
                supernet_kwargs=dict(supernet_kwargs or {}),
                sampler=TIMED[s][0],
                tau_ramp=TIMED[s][1],
                param_free=param_free,
                epochs=repeats,
                batch_size=batch_size,
                lr=lr,
                seed=0,
            ),
            data=data,
        )
        for s in samplers
    }
    wall: dict[str, list[float]] = {s: [] for s in samplers}
    cpu: dict[str, list[float]] = {s: [] for s in samplers}
    own: dict[str, list[float]] = {s: [] for s in samplers}
    for _ in range(repeats):
        for s, trainer in trainers.items():
            trainer.supernet.train()
            trainer.clock.seconds = 0.0
            t0, c0 = time.perf_counter(), time.process_time()
            tau = min(1.0, trainer.epoch / repeats / TIMED[s][1])
            with trainer.clock.paused():  # the steps' sampler work only, as in the published runs
                order = trainer.data_sampler.epoch_indices(tau, trainer.generator)
            for k in range(trainer.steps_per_epoch):
                idx = order[k * batch_size : (k + 1) * batch_size]
                trainer.train_step(trainer.x_train[idx], trainer.y_train[idx], idx)
            with trainer.clock.paused():
                trainer.data_sampler.flush()
            trainer.epoch += 1
            n = trainer.steps_per_epoch
            wall[s].append(1000 * (time.perf_counter() - t0) / n)
            cpu[s].append(1000 * (time.process_time() - c0) / n)
            own[s].append(1000 * trainer.clock.seconds / n)
    return {
        s: {
            "median_ms": float(np.median(wall[s])),
            "cpu_median_ms": float(np.median(cpu[s])),
            "sampler_median_ms": float(np.median(own[s])),
        }
        for s in samplers
    }


def step_overheads(t: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """PA&DA vs SPOS from one interleaved timing (``interleaved_step_times``): total step time,
    PA&DA's machinery at tau 0, and the samplers' own work, each relative to a SPOS step."""
    spos, pada, tau0 = t["spos"], t["padad"], t["padad_tau0"]
    return {
        "padad_overhead_interleaved": pada["median_ms"] / spos["median_ms"] - 1,
        "padad_overhead_interleaved_cpu": pada["cpu_median_ms"] / spos["cpu_median_ms"] - 1,
        "padad_sampler_overhead": (pada["sampler_median_ms"] - spos["sampler_median_ms"]) / spos["cpu_median_ms"],
        "padad_tau0_overhead_cpu": tau0["cpu_median_ms"] / spos["cpu_median_ms"] - 1,
    }
