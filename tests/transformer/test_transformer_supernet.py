"""The elastic MiniLM: original embeddings at full size, exact subnets, ONNX export."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from tailor.errors import ConfigError
from tailor.supernets import SuperNet, create_supernet, list_supernets
from tailor.supernets.transformer import default_checkpoint

SENTENCES = [
    "A man is eating food.",
    "Return the harmonic mean of data.",
    "The quick brown fox jumps over the lazy dog, twice and then once more.",
    "Acquire a semaphore, decrementing the internal counter by one.",
]
MIDDLE = {"depth": 4, "heads": [12, 8, 6, 4, 10, 12], "ffn": [1536, 768, 384, 1152, 384, 384]}


def test_registered_and_protocol(minilm):
    assert "transformer" in list_supernets()
    assert isinstance(minilm, SuperNet)
    with pytest.raises(ConfigError, match="transformer.nope"):
        create_supernet("transformer", nope=1)
    with pytest.raises(ConfigError, match="transformer.heads"):
        create_supernet("transformer", heads=(4, 8), importance="magnitude")


def test_largest_reproduces_sentence_transformers(minilm, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    st = pytest.importorskip("sentence_transformers")
    ref = st.SentenceTransformer(str(default_checkpoint()), device="cpu")
    expected = torch.as_tensor(ref.encode(SENTENCES, convert_to_numpy=True))
    minilm.activate(minilm.space().extreme("max"))
    got = minilm.encode(SENTENCES)
    cos = torch.nn.functional.cosine_similarity(got, expected)
    assert cos.min() > 0.9999, cos


def test_space_canonical_drops_unused_layers(minilm):
    space = minilm.space()
    a = dict(MIDDLE)
    b = {**MIDDLE, "heads": [12, 8, 6, 12, 4, 12], "ffn": [1536, 768, 384, 768, 1536, 384]}
    assert space.canonical(a)["heads"] == [12, 8, 6, None, None, 12]  # depth 4: 3 first + last
    assert space.key(a) == space.key(b)
    minilm.activate(space.canonical(a))  # None entries past depth are accepted
    assert minilm.active_config == space.canonical(a)


@pytest.mark.parametrize("which", ["min", "middle", "max", "sample"])
def test_subnet_equals_active_path(minilm, which):
    space = minilm.space()
    cfg = {"middle": MIDDLE, "sample": space.sample(np.random.default_rng(3))}.get(which)
    cfg = cfg if cfg is not None else space.extreme(which)
    ids, mask = minilm.tokenize(SENTENCES)
    minilm.activate(cfg)
    sub = minilm.subnet(cfg)
    assert len(sub.layers) == cfg["depth"]
    with torch.no_grad():
        a, b = minilm(ids, mask), sub(ids, mask)
    assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()
    assert torch.allclose(a.norm(dim=1), torch.ones(len(SENTENCES)))


def test_subnet_is_smaller_and_leaves_supernet_alone(minilm):
    space = minilm.space()
    minilm.activate(space.extreme("max"))
    small, big = minilm.subnet(space.extreme("min")), minilm.subnet(space.extreme("max"))
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(small) < n(big) <= n(minilm)
    # depth 1 keeps the last layer (the one the sentence-embedding objective shaped)
    assert len(small.layers) == 1
    assert torch.equal(small.layers[0].norm2.weight, minilm.layers[-1].norm2.weight)
    assert minilm.active_config == space.canonical(space.extreme("max"))


def test_padding_does_not_change_embeddings(minilm):
    minilm.activate(MIDDLE)
    alone = minilm.encode(SENTENCES[:1])
    padded = minilm.encode(SENTENCES, batch_size=8)[:1]
    assert torch.allclose(alone, padded, atol=1e-5)


def test_magnitude_importance_sorted():
    net = create_supernet("transformer", importance="magnitude")
    for layer in net.layers:
        head, neuron = layer.magnitude_scores()
        assert torch.all(head[:-1] >= head[1:]) and torch.all(neuron[:-1] >= neuron[1:])


def test_example_input_and_bad_configs(minilm):
    ids, mask = minilm.example_input(2)
    assert ids.shape == mask.shape == (2, 128) and ids.dtype == mask.dtype == torch.long
    assert minilm.example_input(1, MIDDLE, seq_len=16)[0].shape == (1, 16)
    with pytest.raises(ConfigError, match="batch_size"):
        minilm.example_input(0)
    with pytest.raises(ConfigError, match="depth"):
        minilm.activate({**MIDDLE, "depth": 7})
    with pytest.raises(ConfigError, match=r"heads\[1\]"):
        minilm.subnet({**MIDDLE, "heads": [12, 5, 6, 4, 4, 4]})
    with pytest.raises(ConfigError, match="heads"):
        minilm.activate({**MIDDLE, "heads": [None] * 6})


def test_subnet_exports_to_onnx(minilm):
    ort = pytest.importorskip("onnxruntime")
    sub = minilm.subnet(MIDDLE)
    ids, mask = minilm.example_input(2, MIDDLE, seq_len=16)
    mask[1, 10:] = 0  # a padded row: the mask must be honoured in the graph
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            sub,
            (ids, mask),
            buf,
            dynamo=False,
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            opset_version=17,
        )
        expected = sub(ids, mask).numpy()
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_latency_evaluator_fits(minilm):
    evaluators = pytest.importorskip("tailor.measure.evaluators")
    ev = evaluators.LatencyEvaluator(minilm, warmup=1, repeats=2, cache=False)
    (row,) = ev.evaluate([minilm.space().extreme("min")])
    assert row["latency_ms"] > 0
