"""tailor: find and export Pareto-optimal sub-networks of a weight-sharing super-network."""

from tailor.errors import ConfigError, TailorError, UnknownNameError
from tailor.space import Choice, Config, SearchSpace

__all__ = ["Choice", "Config", "ConfigError", "SearchSpace", "TailorError", "UnknownNameError"]
__version__ = "0.1.0"
