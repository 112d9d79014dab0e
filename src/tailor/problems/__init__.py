"""Problems: a space, evaluators and objectives, built from a ``ProblemSpec`` through the registry."""

from tailor.problems._problem import Problem
from tailor.problems._registry import (
    BuildContext,
    ProblemSpec,
    build_problem,
    list_problems,
    problem_options,
    register_problem,
)
from tailor.problems.nb201 import TableEvaluator, nb201_problem, nb201_space

__all__ = [
    "BuildContext", "Problem", "ProblemSpec", "TableEvaluator", "build_problem", "list_problems", "nb201_problem",
    "nb201_space", "problem_options", "register_problem",
]
