"""Evaluators: turn configurations into measured metrics."""

from tailor.measure.base import Evaluator

__all__ = ["Evaluator"]
