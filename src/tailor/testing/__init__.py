"""Test helpers shipped with the package: a toy problem with analytic objectives."""

from tailor.testing.toy import ToyEvaluator, interrupted_toy_problem, toy_problem

__all__ = ["ToyEvaluator", "interrupted_toy_problem", "toy_problem"]
