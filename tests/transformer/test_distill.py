"""Distilling the elastic MiniLM: corpus split, user text, training loop, resume, shipped weights."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from tailor.data.text import CorpusSplit, read_text_data, split_corpus
from tailor.errors import ConfigError
from tailor.measure.retrieval import RetrievalAgreementEvaluator
from tailor.supernets.transformer import TRAINED_WEIGHTS, ElasticTransformer, ElasticTransformerConfig
from tailor.train.distill import DistillConfig, DistillTrainer, save_elastic_layers


@pytest.fixture(scope="module")
def fresh() -> ElasticTransformer:
    """A supernet of our own (training changes its weights; the session's ``minilm`` must not)."""
    return ElasticTransformer(ElasticTransformerConfig(importance="magnitude"))


def _small_split(sentences: list[str]) -> CorpusSplit:
    return CorpusSplit(test=[], val=sentences[:40], train=sentences[40:100], calibration=[])


# ---------------------------------------------------------------- the corpus split
def test_split_holds_out_every_agreement_sentence(minilm):
    from tailor.data import load_corpus

    corpus = load_corpus()
    split = split_corpus(minilm.tokenize, corpus, n_val=500, n_calibration=256)
    # what the agreement evaluator measures by default, computed as it does
    default = RetrievalAgreementEvaluator._default_corpus(SimpleNamespace(supernet=minilm, max_length=16), 2000)
    assert set(default) <= set(split.test)
    assert default[-1] == split.test[-1]  # the test slice ends with the last sentence it uses
    parts = [split.test, split.val, split.train, split.calibration]
    assert sum(map(len, parts)) == len(corpus)
    assert [s for p in parts for s in p] == corpus  # disjoint, in order, nothing lost
    assert split.calibration == corpus[-256:]  # the importance ranking's sentences
    assert len(split.val) == 500 and len(split.train) > 4000


def test_split_too_small(minilm):
    with pytest.raises(ConfigError, match="nothing to train"):
        split_corpus(minilm.tokenize, n_val=10_000)


# ---------------------------------------------------------------- user text
def test_read_text_data(tmp_path):
    (tmp_path / "a.txt").write_text("First sentence.\n\n  Second one.  \nFirst sentence.\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "b.txt").write_text("Third.\n")
    (sub / "ignored.md").write_text("Not read.\n")
    assert read_text_data([tmp_path]) == ["First sentence.", "Second one.", "Third."]
    assert read_text_data([tmp_path / "a.txt"]) == ["First sentence.", "Second one."]


@pytest.mark.parametrize("case, match", [
    ("missing", "no such file"),
    ("empty_dir", "no .txt file"),
    ("blank_file", "holds no text"),
    ("binary", "binary"),
    ("latin1", "not UTF-8"),
])
def test_bad_text_data(tmp_path, case, match):
    path = tmp_path / case
    if case == "empty_dir":
        path.mkdir()
        (path / "image.png").write_bytes(b"\x89PNG")
    elif case == "blank_file":
        path.write_text("\n   \n")
    elif case == "binary":
        path.write_bytes(b"abc\x00\x01\x02" * 10)
    elif case == "latin1":
        path.write_bytes("caf\xe9 au lait.\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=match) as info:
        read_text_data([path])
    assert info.value.field == "data"


def test_cli_bad_data_is_one_line(tmp_path, capsys):
    from tailor.cli import main

    empty = tmp_path / "texts"
    empty.mkdir()
    code = main(["train", "--supernet", "transformer", "--data", str(empty), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("tailor: error: data:") and "no .txt file" in err[-1]


def test_distill_config_checks():
    with pytest.raises(ConfigError, match="sampler"):
        DistillConfig(sampler="fairnas")
    with pytest.raises(ConfigError, match="steps"):
        DistillConfig(steps=0)
    with pytest.raises(ConfigError, match="supernet-args"):
        DistillConfig(supernet_kwargs={"seq_len": 64})
    from tailor.train.distill import build_optimizer

    assert isinstance(build_optimizer("adamw", torch.nn.Linear(2, 2), 1e-3, 0.0, 4), torch.optim.AdamW)
    with pytest.raises(ConfigError, match="optimizer"):  # until tailor.optim knows it
        build_optimizer("nope", torch.nn.Linear(2, 2), 1e-3, 0.0, 4)


# ---------------------------------------------------------------- training, resume, weights
def _trainer(net, sentences, out, steps, sampler="sandwich"):
    config = DistillConfig(steps=steps, batch_size=4, max_length=16, warmup_steps=1, n_val=20, eval_every=2,
                           checkpoint_every=1, sampler=sampler, lr=1e-3)
    return DistillTrainer(config, out, supernet=net, split=_small_split(sentences))


def test_distill_trains_and_resumes_exactly(fresh, sentences, tmp_path):
    import copy

    start = copy.deepcopy(fresh.layers.state_dict())
    # uninterrupted: 3 steps
    fresh.layers.load_state_dict(start)
    whole = _trainer(fresh, sentences, tmp_path / "a", 3)
    result = whole.run()
    assert result["steps"] == 3 and [r["step"] for r in result["history"]] == [0, 2, 3]
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in result["history"][1:])
    assert result["peak_rss_mb"] > 0
    moved = any(not torch.equal(v, start[k]) for k, v in fresh.layers.state_dict().items())
    assert moved
    final = copy.deepcopy(fresh.layers.state_dict())
    # killed right after the step-2 checkpoint, then resumed to 3
    fresh.layers.load_state_dict(start)

    def kill(record):
        if record["step"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _trainer(fresh, sentences, tmp_path / "b", 3).run(on_eval=kill)
    fresh.layers.load_state_dict(start)  # the resume must restore the weights from the checkpoint
    resumed = _trainer(fresh, sentences, tmp_path / "b", 3)
    out = resumed.run()
    assert out["resumed_from"] == 2 and out["steps"] == 3
    for k, v in fresh.layers.state_dict().items():
        assert torch.equal(v, final[k]), k
    # another setting is refused, naming it
    with pytest.raises(ConfigError, match="lr"):
        DistillTrainer(DistillConfig(steps=3, batch_size=4, max_length=16, warmup_steps=1, n_val=20, lr=5e-4),
                       tmp_path / "b", supernet=fresh, split=_small_split(sentences)).run()
    fresh.layers.load_state_dict(start)


@pytest.mark.parametrize("sampler", ["spos", "padad"])
def test_other_samplers_step(fresh, sentences, sampler):
    import copy

    start = copy.deepcopy(fresh.layers.state_dict())
    trainer = _trainer(fresh, sentences, None, 1, sampler=sampler)
    terms = trainer.train_step()
    assert torch.isfinite(torch.tensor(terms["loss"]))
    fresh.layers.load_state_dict(start)


def test_weights_round_trip_and_errors(fresh, sentences, tmp_path):
    import copy

    start = copy.deepcopy(fresh.layers.state_dict())
    ids, mask = fresh.tokenize(sentences[:8], 32)
    full, smallest = fresh.space().extreme("max"), fresh.space().extreme("min")
    with torch.no_grad():
        original = fresh(ids, mask)
        for p in fresh.layers.parameters():  # "trained": visibly different layers
            p.add_(0.02 * torch.randn_like(p))
        trained = fresh(ids, mask)
    file = save_elastic_layers(fresh, tmp_path / "layers.safetensors", {"command": "test"})
    loaded = ElasticTransformer(ElasticTransformerConfig(weights=str(file)))

    def cos(a, b):
        return torch.nn.functional.cosine_similarity(a, b).min()

    with torch.no_grad():
        for config in (full, smallest, {"depth": 6, "heads": [12] * 5 + [10], "ffn": [1536] * 6}):
            fresh.activate(config)
            loaded.activate(config)
            out = loaded(ids, mask)
            if config == full:  # the full model runs the original layers, exactly
                assert cos(out, original) > 0.99999 and cos(trained, original) < 0.999
                assert cos(loaded.subnet(config)(ids, mask), original) > 0.99999
            else:
                assert cos(out, fresh(ids, mask)) > 0.999  # fp16 storage
        loaded.original_full_model = False
        loaded.activate(full)
        assert cos(loaded(ids, mask), trained) > 0.999
    fresh.activate(full)
    fresh.layers.load_state_dict(start)
    assert loaded.describe()["weights"].startswith("sha256:")
    assert "weights" not in fresh.describe()  # the original keeps its fingerprint

    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(file.read_bytes()[: 5000])
    with pytest.raises(ConfigError, match="corrupt.safetensors") as info:
        ElasticTransformer(ElasticTransformerConfig(weights=str(corrupt)))
    assert info.value.field == "weights" and "corrupt" in str(info.value)
    with pytest.raises(ConfigError, match="not found"):
        ElasticTransformer(ElasticTransformerConfig(weights=str(tmp_path / "none.safetensors")))
    with pytest.raises(ConfigError, match="allowed: original, trained"):
        ElasticTransformer(ElasticTransformerConfig(weights="best"))


def test_minilm_problem_weights_option(monkeypatch, tmp_path):
    from tailor.problems import ProblemSpec

    assert ProblemSpec("minilm").options["weights"] == "trained"
    assert ProblemSpec("minilm", {"weights": "original"}).options["weights"] == "original"
    with pytest.raises(ConfigError, match="weights: got 'best'.*allowed: original, trained"):
        ProblemSpec("minilm", {"weights": "best"})


def test_corrupt_shipped_weights_name_the_file(monkeypatch, tmp_path):
    from tailor.supernets import transformer

    bad = tmp_path / "minilm-l6-elastic.safetensors"
    bad.write_bytes(b"\x00" * 64)
    monkeypatch.setattr(transformer, "TRAINED_WEIGHTS", bad)
    with pytest.raises(ConfigError, match=str(bad)):
        transformer.ElasticTransformer(ElasticTransformerConfig(weights="trained", importance="magnitude"))


# ---------------------------------------------------------------- the shipped file
MANIFEST = TRAINED_WEIGHTS.with_suffix(".json")


@pytest.mark.skipif(not TRAINED_WEIGHTS.is_file(), reason="no shipped weights in this checkout")
def test_shipped_weights_load_and_fit_the_size_limit():
    assert TRAINED_WEIGHTS.stat().st_size <= 25 * 2**20
    net = ElasticTransformer(ElasticTransformerConfig(weights="trained"))
    assert net.describe()["weights"].startswith("sha256:")


@pytest.mark.skipif(not MANIFEST.is_file(), reason="no shipped weights manifest in this checkout")
def test_shipped_command_runs_for_a_few_steps(tmp_path):
    """The exact command that produced the shipped weights, cut to 2 steps and a temp folder."""
    import shlex
    import subprocess
    import sys

    argv = shlex.split(json.loads(MANIFEST.read_text())["command"])
    assert argv[:3] == ["tailor", "train", "--supernet"]
    args = argv[1:]
    for flag, value in (("--steps", "2"), ("--out", str(tmp_path / "out"))):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    args += ["--batch-size", "4"]
    env = {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
           "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    done = subprocess.run([sys.executable, "-m", "tailor", *args], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "elastic_layers.safetensors").is_file()
    assert (tmp_path / "out" / "last.pt").is_file()


def test_second_stage_starts_from_trained_layers(fresh, sentences, tmp_path):
    file = save_elastic_layers(fresh, tmp_path / "stage1.safetensors")
    config = DistillConfig(supernet_kwargs={"weights": str(file), "importance": "magnitude"}, steps=1, batch_size=4,
                           max_length=16, warmup_steps=1, n_val=20)
    trainer = DistillTrainer(config, None, split=_small_split(sentences))
    assert trainer.supernet.weights_file == file and not trainer.supernet.original_full_model
    assert trainer.teacher_layers is not trainer.supernet.layers
    assert torch.isfinite(torch.tensor(trainer.train_step()["loss"]))
