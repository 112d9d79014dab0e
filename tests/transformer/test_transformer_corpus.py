"""The built-in corpus: large enough, deterministic, English prose."""

from __future__ import annotations

import re

import pytest

from tailor.data import build_corpus, load_corpus
from tailor.errors import ConfigError

COMMON = {"the", "a", "an", "of", "to", "is", "and", "in", "for", "if", "be", "this", "it", "are"}


@pytest.fixture(scope="module")
def built() -> list[str]:
    return build_corpus()


def test_size_and_english(built):
    assert len(built) >= 2000
    assert len(set(built)) == len(built)
    for s in built:
        assert s.strip() == s and s
        assert s[0].isupper() and s.endswith(".")
        assert sum(c.isalpha() for c in s) >= 0.8 * sum(not c.isspace() for c in s)
    with_common = sum(bool(COMMON & set(re.findall(r"[a-z]+", s.lower()))) for s in built)
    assert with_common >= 0.95 * len(built)


def test_deterministic_and_cached(built, tmp_path, monkeypatch):
    monkeypatch.setenv("TAILOR_CACHE_DIR", str(tmp_path))
    first = load_corpus()  # builds again and writes the cache
    assert list(tmp_path.iterdir())
    second = load_corpus()  # reads the cache
    assert first == built == second
    assert load_corpus(5) == built[:5]


def test_bad_n():
    with pytest.raises(ConfigError, match="corpus.n"):
        load_corpus(0)
    with pytest.raises(ConfigError, match="corpus.n"):
        load_corpus(10**9)
