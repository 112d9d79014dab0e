"""Problems: a space, evaluators and objectives, built by name from CLI arguments."""

from tailor.problems._problem import Problem
from tailor.problems.nb201 import TableEvaluator, nb201_problem, nb201_space

__all__ = ["Problem", "TableEvaluator", "nb201_problem", "nb201_space"]
