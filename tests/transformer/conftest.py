"""One MiniLM supernet per test session: building it (weights + importance ranking) takes ~3 s."""

from __future__ import annotations

import pytest

from tailor.supernets.transformer import ElasticTransformer, ElasticTransformerConfig


@pytest.fixture(scope="session")
def minilm() -> ElasticTransformer:
    return ElasticTransformer(ElasticTransformerConfig(n_calibration=32))


@pytest.fixture(scope="session")
def sentences() -> list[str]:
    from tailor.data import load_corpus

    return load_corpus(100)
