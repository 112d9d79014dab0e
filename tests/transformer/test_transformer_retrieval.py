"""Retrieval agreement: 1.0 for the full model, lower for pruned ones, supernet left as found."""

from __future__ import annotations

import pytest

from tailor.errors import ConfigError
from tailor.measure.retrieval import RetrievalAgreementEvaluator


@pytest.fixture(scope="module")
def evaluator(minilm, sentences):
    return RetrievalAgreementEvaluator(minilm, sentences, k=10, max_length=16)


def test_full_model_agrees_exactly(evaluator, minilm):
    space = minilm.space()
    small = {"depth": 2, "heads": [4] * 6, "ffn": [384] * 6}
    minilm.activate(small)
    rows = evaluator.evaluate([space.extreme("max"), space.extreme("min"), small])
    assert rows[0] == {"agreement": 1.0}
    assert all(0.0 <= r["agreement"] < 1.0 for r in rows[1:])
    assert minilm.active_config == space.canonical(small)  # restored after evaluating


def test_queries_and_fingerprint(minilm, sentences, evaluator):
    ev = RetrievalAgreementEvaluator(minilm, sentences[:60], k=5, n_queries=20, max_length=12)
    assert ev.n_queries == 20 and ev.evaluate([minilm.space().extreme("max")])[0]["agreement"] == 1.0
    assert ev.fingerprint() != evaluator.fingerprint()
    assert evaluator.metrics == {"agreement": "max"} and evaluator.expensive


def test_duplicates_after_truncation_are_dropped(minilm, sentences):
    ev = RetrievalAgreementEvaluator(minilm, sentences[:30] + sentences[:10], k=3, max_length=16)
    assert ev.n_sentences == 30


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"k": 0}, "retrieval.k"),
        ({"n_queries": 10**6}, "retrieval.n_queries"),
        ({"corpus": ["", "x"]}, "retrieval.corpus"),
        ({"corpus": ["One.", "Two."]}, "retrieval.corpus"),
    ],
)
def test_bad_arguments(minilm, sentences, kwargs, field):
    args = {"corpus": sentences[:40], **kwargs}
    with pytest.raises(ConfigError, match=field):
        RetrievalAgreementEvaluator(minilm, **args)


def test_needs_a_text_supernet():
    with pytest.raises(ConfigError, match="supernet"):
        RetrievalAgreementEvaluator(object(), ["a", "b"])


def test_default_corpus_fits_max_length(minilm):
    ev = RetrievalAgreementEvaluator(minilm, n_sentences=40, max_length=12, k=5)
    assert ev.n_sentences <= 40 and all(int(mask.sum(1).max()) <= 12 for _, _, mask in ev._batches)
    with pytest.raises(ConfigError, match="retrieval.n_sentences"):
        RetrievalAgreementEvaluator(minilm, n_sentences=5, k=10)
