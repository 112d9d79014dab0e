"""Evaluators: turn configurations into measured metrics."""

from tailor.measure.accuracy import AccuracyEvaluator, recalibrate_batchnorm, top1
from tailor.measure.base import Evaluator
from tailor.measure.cache import LatencyCache
from tailor.measure.count import MemoryResult, count_macs, count_params, peak_memory
from tailor.measure.evaluators import ComplexityEvaluator, LatencyEvaluator, MemoryEvaluator
from tailor.measure.latency import BACKENDS, LatencyResult, measure_latency
from tailor.measure.machine import machine_fingerprint

__all__ = [
    "BACKENDS", "AccuracyEvaluator", "ComplexityEvaluator", "Evaluator", "LatencyCache",
    "LatencyEvaluator", "LatencyResult", "MemoryEvaluator", "MemoryResult", "count_macs",
    "count_params", "machine_fingerprint", "measure_latency", "peak_memory",
    "recalibrate_batchnorm", "top1",
]
