"""Wall-clock latency of one model on this machine: warm-up, repeated timings, robust summary.

The median (not the mean) is the headline number and the inter-quartile range the spread, so a
few slow calls caused by other processes do not move the result. ONNX Runtime is the default
backend because it is what deployments run; PyTorch eager is available for comparison.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.latency_table.runner import pinned
from tailor.measure.onnx_io import export_onnx, ort_feed, ort_session

BACKENDS = ("onnxruntime", "torch")


@dataclass(frozen=True)
class LatencyResult:
    """Summary of ``n`` timed calls, in milliseconds.

    ``iqr_ms`` (Q3 - Q1) is the spread; ``n_outliers`` counts calls beyond Q3 + 1.5 IQR, which
    are kept in ``samples_ms`` but barely affect the median. ``round_medians_ms``: the medians of
    ``rounds`` consecutive slices of the calls; ``round_spread`` ((max - min) / median of them) says
    whether repeating the measurement would have given the same number.
    """

    median_ms: float
    iqr_ms: float
    min_ms: float
    mean_ms: float
    n: int
    n_outliers: int
    backend: str
    threads: int
    samples_ms: tuple[float, ...] = field(default=(), repr=False, compare=False)
    round_medians_ms: tuple[float, ...] = field(default=(), compare=False)

    @property
    def spread_ms(self) -> float:
        return self.iqr_ms

    @property
    def round_spread(self) -> float | None:
        """(max - min) / median of the round medians; ``None`` with fewer than two rounds."""
        r = self.round_medians_ms
        if len(r) < 2:
            return None
        med = float(np.median(r))
        return float((max(r) - min(r)) / med) if med > 0 else 0.0

    def to_dict(self) -> dict[str, float | int | str]:
        return {
            "median_ms": self.median_ms, "iqr_ms": self.iqr_ms, "min_ms": self.min_ms,
            "mean_ms": self.mean_ms, "n": self.n, "n_outliers": self.n_outliers,
            "backend": self.backend, "threads": self.threads, "round_medians_ms": list(self.round_medians_ms),
        }

    @classmethod
    def from_samples(cls, samples_ms: Sequence[float], backend: str, threads: int, rounds: int = 1) -> LatencyResult:
        s = np.asarray(samples_ms, dtype=np.float64)
        slices = np.array_split(s, min(max(rounds, 1), len(s))) if rounds > 1 else []
        q1, med, q3 = np.percentile(s, [25, 50, 75])
        iqr = q3 - q1
        return cls(
            median_ms=float(med), iqr_ms=float(iqr), min_ms=float(s.min()), mean_ms=float(s.mean()),
            n=len(s), n_outliers=int(np.sum(s > q3 + 1.5 * iqr)), backend=backend, threads=threads,
            samples_ms=tuple(float(v) for v in s),
            round_medians_ms=tuple(float(np.median(r)) for r in slices),
        )


def as_tuple(inputs: tuple[torch.Tensor, ...] | torch.Tensor) -> tuple[torch.Tensor, ...]:
    """One tensor or several positional inputs -> a tuple."""
    return (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ConfigError("backend", f"unknown backend {backend!r}", BACKENDS)
    return backend


def check_counts(threads: int, warmup: int, repeats: int) -> None:
    if not isinstance(threads, int) or threads < 1:
        raise ConfigError("threads", f"must be a positive integer, got {threads!r}")
    if not isinstance(warmup, int) or warmup < 0:
        raise ConfigError("warmup", f"must be a non-negative integer, got {warmup!r}")
    if not isinstance(repeats, int) or repeats < 1:
        raise ConfigError("repeats", f"must be a positive integer, got {repeats!r}")


def time_calls(call: Callable[[], object], warmup: int, repeats: int, cpus: int = 1) -> list[float]:
    """Per-call times (ms) after ``warmup`` untimed calls, the calling thread pinned to ``cpus``
    CPUs meanwhile (``tailor.latency_table.runner.pinned``: migrating between CPUs made rounds of
    the same network differ by 2x)."""
    with pinned(cpus):
        for _ in range(warmup):
            call()
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter_ns()
            call()
            samples.append((time.perf_counter_ns() - t0) / 1e6)
    return samples


def measure_latency(
    model: nn.Module,
    example_inputs: tuple[torch.Tensor, ...] | torch.Tensor,
    backend: str = "onnxruntime",
    threads: int = 1,
    warmup: int = 10,
    repeats: int = 50,
    input_names: Sequence[str] | None = None,
    rounds: int = 1,
) -> LatencyResult:
    """Time ``repeats`` forward passes of ``model`` on ``example_inputs`` after ``warmup`` calls.

    Args:
        model: any module; measured in eval mode (its training flag is restored afterwards).
        example_inputs: the positional inputs (one tensor or a tuple, e.g. input_ids and
            attention_mask); their shapes are baked into the ONNX graph.
        backend: ``"onnxruntime"`` (exported in memory, CPU provider) or ``"torch"`` (eager,
            under ``torch.inference_mode``).
        threads: intra-op threads (ORT ``intra_op_num_threads`` / ``torch.set_num_threads``).
        warmup: untimed calls first (allocations, caches, lazy init).
        repeats: timed calls; each is timed on its own with ``perf_counter_ns``.
        input_names: optional ONNX input names (default ``input_0``, ``input_1``, ...).
        rounds: split the timed calls into this many consecutive rounds and keep their medians
            (``round_spread``); the headline median is over all calls either way.

    Raises:
        ConfigError: unknown backend or non-positive counts.
    """
    check_backend(backend)
    check_counts(threads, warmup, repeats)
    inputs = as_tuple(example_inputs)
    if backend == "onnxruntime":
        session = ort_session(export_onnx(model, inputs, input_names=input_names), threads)
        feed = ort_feed(session, inputs, input_names)
        samples = time_calls(lambda: session.run(None, feed), warmup, repeats, threads)
        return LatencyResult.from_samples(samples, backend, threads, rounds)

    was_training, old_threads = model.training, torch.get_num_threads()
    model.eval()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            samples = time_calls(lambda: model(*inputs), warmup, repeats, threads)
    finally:
        torch.set_num_threads(old_threads)
        model.train(was_training)
    return LatencyResult.from_samples(samples, backend, threads, rounds)
