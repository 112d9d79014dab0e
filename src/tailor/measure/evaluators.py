"""Evaluators over a super-network: measured latency (expensive) and MACs/params/memory (cheap).

Each extracts the standalone ``subnet(config)``, so what is measured is what ``tailor export``
ships, not the elastic super-network with its slicing overhead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.measure.accuracy import track_batchnorm_stats, untracked_batchnorms
from tailor.measure.base import Evaluator
from tailor.measure.cache import (
    LatencyCache,
    architecture_fingerprint,
    input_shapes,
    latency_key,
)
from tailor.measure.count import count_macs, count_params, peak_memory
from tailor.measure.latency import (
    LatencyResult,
    as_tuple,
    check_backend,
    check_counts,
    measure_latency,
)
from tailor.measure.machine import machine_fingerprint
from tailor.space import Config

log = logging.getLogger(__name__)
RUNTIMES = ("plain", "sparse")


def _check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError("batch_size", f"must be a positive integer, got {batch_size!r}")


class LatencyEvaluator(Evaluator):
    """Median latency (ms) of each config's standalone sub-network on this machine.

    BN layers that use batch statistics in evaluation are measured as the fixed-statistics layers
    that export ships (see ``tailor.measure.accuracy.track_batchnorm_stats``).

    Results are cached by (config key, architecture, backend, input shapes, threads, machine);
    pass ``cache=False`` to always measure, or a directory / ``LatencyCache`` to choose where.
    ``results`` keeps the full ``LatencyResult`` (spread, n) of every config seen.

    Trust: the timed calls are split into ``rounds`` consecutive rounds; each evaluation also
    reports ``latency_round_spread`` ((max - min) / median of the round medians) and, when it
    exceeds ``noise_threshold``, ``latency_noisy = 1`` (else 0), so a number the machine could not
    reproduce is flagged in the trial instead of being used silently.

    ``runtime="sparse"`` (PyTorch eager only) measures each sub-network as ``tailor.sparse`` runs
    it: BatchNorm folded, pruned 1x1 convolutions / linear layers on the sparse kernel
    (``tailor.sparse.sparse_runtime``); a sub-network without zeros is measured folded and dense.
    """

    metrics = {"latency_ms": "min"}
    expensive = True

    def __init__(
        self,
        supernet: nn.Module,
        backend: str = "onnxruntime",
        batch_size: int = 1,
        threads: int = 1,
        warmup: int = 10,
        repeats: int = 50,
        cache: LatencyCache | str | Path | bool = True,
        rounds: int = 3,
        noise_threshold: float = 0.25,
        runtime: str = "plain",
    ):
        check_backend(backend)
        if runtime not in RUNTIMES:
            raise ConfigError("runtime", f"unknown runtime {runtime!r}", RUNTIMES)
        if runtime == "sparse" and backend != "torch":
            raise ConfigError("backend", "the sparse runtime runs in PyTorch eager: use backend torch",
                              ["torch"])
        self.runtime = runtime
        check_noise(rounds, noise_threshold)
        self.rounds, self.noise_threshold = rounds, noise_threshold
        check_counts(threads, warmup, repeats)
        _check_batch_size(batch_size)
        self.supernet, self.backend, self.batch_size = supernet, backend, batch_size
        self.threads, self.warmup, self.repeats = threads, warmup, repeats
        if cache is True:
            self.cache: LatencyCache | None = LatencyCache()
        elif cache is False or cache is None:
            self.cache = None
        elif isinstance(cache, LatencyCache):
            self.cache = cache
        else:
            self.cache = LatencyCache(cache)
        self.architecture = architecture_fingerprint(supernet)
        if untracked_batchnorms(supernet):  # measured as exported (fixed BN statistics): own cache keys
            self.architecture += "+bnstats"
        if runtime == "sparse":
            self.architecture += "+sparse"
        self.machine = machine_fingerprint()
        self.results: dict[str, LatencyResult] = {}
        self.hits = 0

    def measure(self, config: Config) -> LatencyResult:
        """The full latency summary of one config (from the cache when possible)."""
        space = self.supernet.space()
        inputs = as_tuple(self.supernet.example_input(self.batch_size, config))
        key = latency_key(space.key(config), self.architecture, self.backend,
                          input_shapes(inputs), self.threads, self.machine)
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            self.hits += 1
            result = cached
        else:
            model = track_batchnorm_stats(self.supernet.subnet(config))
            if self.runtime == "sparse":
                from tailor.sparse import sparse_runtime

                torch_threads = torch.get_num_threads()
                torch.set_num_threads(self.threads)  # dispatch decided at the measured thread count
                try:
                    model = sparse_runtime(model, inputs)
                finally:
                    torch.set_num_threads(torch_threads)
            result = measure_latency(model, inputs, self.backend, self.threads, self.warmup,
                                     self.repeats, rounds=self.rounds)
            if self.cache is not None:
                self.cache.put(key, result)
        self.results[space.key(config)] = result
        return result

    def evaluate(self, configs: Sequence[Config]) -> list[dict[str, float]]:
        out = []
        for c in configs:
            result = self.measure(c)
            metrics = {"latency_ms": result.median_ms}
            spread = result.round_spread
            if spread is not None:  # None: a cached result from before rounds were kept
                metrics["latency_round_spread"] = spread
                metrics["latency_noisy"] = float(spread > self.noise_threshold)
                if spread > self.noise_threshold:
                    log.warning("latency of %s is noisy: rounds differ by %.0f %% (threshold %.0f %%)",
                                self.supernet.space().key(c), 100 * spread, 100 * self.noise_threshold)
            out.append(metrics)
        return out

    def fingerprint(self) -> str:
        return (f"latency/{self.backend}/bs{self.batch_size}/t{self.threads}/"
                f"{self.architecture}/{self.machine}")


def check_noise(rounds: int, noise_threshold: float) -> None:
    if not isinstance(rounds, int) or rounds < 1:
        raise ConfigError("latency_rounds", f"must be a positive integer, got {rounds!r}")
    if not isinstance(noise_threshold, (int, float)) or not noise_threshold > 0:
        raise ConfigError("latency_noise", f"must be a positive fraction (0.25 = 25 %), got {noise_threshold!r}")


class _SubnetEvaluator(Evaluator):
    """Cheap metrics computed on each config's standalone sub-network and example input."""

    expensive = False

    def __init__(self, supernet: nn.Module, batch_size: int = 1):
        _check_batch_size(batch_size)
        self.supernet, self.batch_size = supernet, batch_size

    def evaluate(self, configs: Sequence[Config]) -> list[dict[str, float]]:
        return [self._metrics(self.supernet.subnet(c), self.supernet.example_input(self.batch_size, c))
                for c in configs]

    def _metrics(self, model: nn.Module, inputs) -> dict[str, float]:
        raise NotImplementedError

    def fingerprint(self) -> str:
        name = type(self).__name__.removesuffix("Evaluator").lower()
        return f"{name}/bs{self.batch_size}/{architecture_fingerprint(self.supernet)}"


class ComplexityEvaluator(_SubnetEvaluator):
    """MACs (FlopCounterMode, FLOPs / 2) and parameters of each standalone sub-network."""

    metrics = {"macs": "min", "params": "min"}

    def _metrics(self, model: nn.Module, inputs) -> dict[str, float]:
        return {"macs": float(count_macs(model, inputs)), "params": float(count_params(model))}


class MemoryEvaluator(_SubnetEvaluator):
    """Peak forward-pass memory in MiB (see ``tailor.measure.count.MemoryResult``)."""

    metrics = {"peak_memory_mb": "min"}

    def _metrics(self, model: nn.Module, inputs) -> dict[str, float]:
        with torch.no_grad():
            return {"peak_memory_mb": peak_memory(model, inputs).peak_bytes / 2**20}
