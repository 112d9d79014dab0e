"""Search spaces (no torch here): choices, configurations, keys, variation and encodings."""

from tailor.space._space import Choice, Config, SearchSpace

__all__ = ["Choice", "Config", "SearchSpace"]
