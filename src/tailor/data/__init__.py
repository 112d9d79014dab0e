"""Built-in data sets that need no download (the stdlib-docstring English corpus)."""

from tailor.data.corpus import build_corpus, load_corpus

__all__ = ["build_corpus", "load_corpus"]
