"""Test helpers shipped with the package: a toy problem with analytic objectives."""

from tailor.testing.toy import ToyEvaluator, toy_problem

__all__ = ["ToyEvaluator", "toy_problem"]
