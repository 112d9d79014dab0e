"""DyNAS-T 1.6.0 driven on a tailor problem, through its hook for user super-networks.

Runs inside DyNAS-T's own virtual environment (``benchmarks/peers/install_dynast.sh``, which
installs this checkout of tailor there without its dependencies). DyNAS-T's documented way to
search a user's super-network is the ``bootstrapnas_image_classification`` supernet with a
``bootstrapnas_supernetwork`` object (``get_search_space``, ``get_config_from_pymoo``,
``activate_config``, ``get_active_subnet``) and ``metric_eval_fns`` that measure the active
sub-network. Here the "sub-network" is the tailor configuration, and the metric functions call
tailor's evaluators through ``Meter``, so DyNAS-T measures exactly what every other tool
measures, and every call is counted.

Two things that shape the comparison, counted as they happen:
- DyNAS-T's LINAS measures the final population of each inner NSGA-II, which may hold
  configurations it has already measured; each repeat is a real, counted evaluation.
- DyNAS-T's ``random`` tactic measures ``population`` samples, not ``num_evals``; to give it the
  budget, population is set to the budget (its samples are drawn with replacement).
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from tailor.errors import ConfigError
from tailor.lab.peers.tools import Meter, Trace
from tailor.problems import Problem

TACTICS = ("linas", "evolutionary", "random")


class ActiveConfig:
    """Stands in for the sub-network DyNAS-T moves to its device and hands to the metric functions."""

    def __init__(self, config: dict):
        self.config = config

    def to(self, device: str) -> ActiveConfig:
        return self


class TailorSupernet:
    """The object DyNAS-T's BootstrapNAS runner talks to; the 'model' is a tailor config."""

    def __init__(self, problem: Problem):
        self.space = problem.space
        self._config: dict | None = None

    def get_search_space(self) -> dict:
        # DyNAS-T's BootstrapNAS encoding accepts 'width' (per-index choice lists) and 'depth'
        # keys only, so every gene is posed as one 'width' entry over its choice indices.
        return {"width": {i: list(range(int(k))) for i, k in enumerate(self.space.cardinalities)}}

    def get_config_from_pymoo(self, vector) -> dict:
        return self.space.from_genes(np.asarray(vector, dtype=int).round().astype(int))

    def activate_config(self, config: dict) -> None:
        self._config = config

    def get_active_subnet(self) -> ActiveConfig:
        return ActiveConfig(self._config)


def _metric_fns(meter: Meter) -> dict:
    """DyNAS-T calls accuracy first, then latency, once per evaluation: one tailor measurement."""
    last: dict[str, float] = {}

    def accuracy(subnet: ActiveConfig) -> float:
        meter(subnet.config)
        last.clear()
        last.update(meter.trace.metrics[-1])
        return float(last[meter.problem.objectives[0].name])

    def latency(subnet: ActiveConfig) -> tuple[float, float]:
        return float(last[meter.problem.objectives[1].name]), 0.0

    return {"accuracy_top1": accuracy, "latency": latency}


def run_dynast(problem: Problem, budget: int, seed: int, tactic: str, population: int = 50) -> Trace:
    """One DyNAS-T search; objectives: the problem's (maximised quality, minimised latency)."""
    from dynast import DyNAS
    from dynast.supernetwork.image_classification.bootstrapnas import bootstrapnas_encoding

    directions = [o.direction for o in problem.objectives]
    if directions != ["max", "min"]:
        raise ConfigError("objectives", f"DyNAS-T poses (accuracy max, latency min), got {directions}")
    # Its final step renders configs through NNCF, which this peer run does not install; the
    # rendering is output formatting only, after every evaluation is done.
    bootstrapnas_encoding.BootstrapNASEncoding.convert_subnet_config_to_bootstrapnas = staticmethod(lambda c: c)
    meter = Meter(problem, budget)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        agent = DyNAS(
            supernet="bootstrapnas_image_classification",
            results_path=str(Path(tmp) / "results.csv"),
            optimization_metrics=["accuracy_top1", "latency"],
            measurements=["accuracy_top1", "latency"],
            search_tactic=tactic,
            num_evals=budget,
            population=budget if tactic == "random" else population,
            seed=seed,
            bootstrapnas_supernetwork=TailorSupernet(problem),
            metric_eval_fns=_metric_fns(meter),
            device="cpu",
        )
        logging.getLogger().setLevel(logging.WARNING)  # DyNAS() set the root logger to INFO
        with contextlib.redirect_stdout(io.StringIO()):  # its evolutionary loop prints a dot per generation
            agent.search()
        meter.trace.wall_s = time.perf_counter() - t0
    return meter.trace
