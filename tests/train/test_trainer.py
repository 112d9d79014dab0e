"""Training loop: every sampler runs, checkpoints resume exactly, bad input is a ConfigError."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from tailor.cli import main
from tailor.errors import ConfigError
from tailor.space import Choice, SearchSpace
from tailor.supernets.registry import register_supernet
from tailor.train import (
    Trainer,
    TrainSpec,
    load_checkpoint,
    load_data,
    save_checkpoint,
)
from tailor.train.checkpoint import CHECKPOINT_NAME

SMALL = {"channels": 4}


def _config(**kw) -> TrainSpec:
    base = {
        "supernet_kwargs": SMALL,
        "epochs": 2,
        "batch_size": 32,
        "max_steps_per_epoch": 4,
        "lr": 0.05,
        "seed": 0,
    }
    return TrainSpec(**{**base, **kw})


@pytest.fixture(scope="module")
def digits():
    return load_data("digits")


class TinyElastic(torch.nn.Module):
    """An elastic-width MLP with shared sliced weights and no choice_parameters()."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        self.fc1 = torch.nn.Linear(in_channels * 64, 16)
        self.fc2 = torch.nn.Linear(16, num_classes)
        self._space = SearchSpace([Choice("width", (4, 8, 16), ordered=True)])
        self.width = 16

    def space(self):
        return self._space

    def activate(self, config):
        self.width = self._space.validate(config)["width"]

    def subnet(self, config):
        raise NotImplementedError

    def example_input(self, batch_size=1, config=None):
        return torch.zeros(batch_size, 1, 8, 8)

    def forward(self, x):
        w = self.width
        h = torch.relu(x.flatten(1) @ self.fc1.weight[:w].T + self.fc1.bias[:w])
        return h @ self.fc2.weight[:, :w].T + self.fc2.bias


@register_supernet("_test_tiny_elastic")
def _tiny_elastic(**kwargs):
    return TinyElastic(**kwargs)


@pytest.mark.parametrize("sampler", ["sandwich", "spos", "fairnas", "padad"])
def test_every_sampler_trains(sampler, digits):
    trainer = Trainer(_config(sampler=sampler), data=digits)
    before = [p.detach().clone() for p in trainer.supernet.parameters()]
    result = trainer.run(resume=False)
    assert result.steps == 8 and result.epochs_done == 2
    assert all(np.isfinite(h["loss"]) for h in result.history)
    changed = [not torch.equal(a, b) for a, b in zip(before, result.supernet.parameters(), strict=True)]
    assert any(changed)


def test_hooks_run_once_per_epoch_and_step(digits):
    """``on_epoch_start`` after the epoch's order is drawn, ``on_gradients`` with the step's gradients."""
    calls = []

    class Hooked(Trainer):
        def on_epoch_start(self):
            calls.append(("epoch", self.epoch, self.step))

        def on_gradients(self):
            assert any(p.grad is not None for p in self.supernet.parameters())
            calls.append(("grad", self.epoch, self.step))

    Hooked(_config(sampler="spos"), data=digits).run(resume=False)
    assert [c for c in calls if c[0] == "epoch"] == [("epoch", 0, 0), ("epoch", 1, 4)]
    assert [c[2] for c in calls if c[0] == "grad"] == list(range(8))


def test_checkpoints_with_the_retired_probe_settings_off_still_load():
    saved = {**_config().to_dict(), "track_grad_variance": False, "grad_variance_probe": 0}
    assert TrainSpec.from_dict(saved) == _config()
    with pytest.raises(ConfigError, match="grad_variance_probe"):
        TrainSpec.from_dict({**saved, "grad_variance_probe": 16})


def test_padad_learns_path_scores_and_moves_tau(digits):
    trainer = Trainer(_config(sampler="padad", epochs=3), data=digits)
    trainer.run(resume=False)
    sampler = trainer.path_sampler
    assert sampler.progress == pytest.approx(11 / 12)
    conv = [2, 3]  # parameterised ops have a score from their own gradients
    assert np.isfinite(sampler.scores[:, conv]).any()
    assert [h["tau"] for h in trainer.history] == pytest.approx([0.0, 1 / 3, 2 / 3])
    assert not torch.all(trainer.data_sampler.scores == 1.0)  # per-example scores observed


def test_padad_on_a_family_without_choice_parameters(digits):
    """The generic path score: PA&DA works with any SuperNet."""
    trainer = Trainer(_config(supernet="_test_tiny_elastic", supernet_kwargs={}, sampler="padad"), data=digits)
    trainer.run(resume=False)
    assert np.isfinite(trainer.path_sampler.scores).any()


def _weights(trainer: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.supernet.parameters()]


@pytest.mark.parametrize("sampler", ["padad", "sandwich"])
def test_resume_continues_exactly(tmp_path, digits, sampler):
    straight = Trainer(_config(sampler=sampler), data=digits)
    straight.run(resume=False)

    def interrupt(record):
        raise KeyboardInterrupt

    first = Trainer(_config(sampler=sampler), tmp_path, data=digits)
    with pytest.raises(KeyboardInterrupt):  # interrupted after one epoch: the checkpoint survives
        first.run(on_epoch=interrupt)
    state = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert state["epoch"] == 1 and state["step"] == 4
    assert state["config"]["sampler"] == sampler

    resumed = Trainer(_config(sampler=sampler), tmp_path, data=digits)
    result = resumed.run(resume=True)
    assert result.resumed_from_epoch == 1
    assert result.steps == 8 and resumed.epoch == 2
    for a, b in zip(_weights(straight), _weights(resumed), strict=True):
        torch.testing.assert_close(a, b)
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["step"] == 8
    # and resuming a finished run trains nothing more
    again = Trainer(_config(sampler=sampler), tmp_path, data=digits).run()
    assert again.steps == 8


def test_no_resume_starts_over(tmp_path, digits):
    Trainer(_config(epochs=1), tmp_path, data=digits).run()
    fresh = Trainer(_config(epochs=1), tmp_path, data=digits)
    assert fresh.run(resume=False).resumed_from_epoch is None


def test_resume_with_other_settings_is_refused(tmp_path, digits):
    Trainer(_config(epochs=1), tmp_path, data=digits).run()
    with pytest.raises(ConfigError, match="lr"):
        Trainer(_config(epochs=2, lr=0.2), tmp_path, data=digits).run()


def test_checkpoint_is_atomic_and_corruption_is_config_error(tmp_path):
    path = tmp_path / "c.pt"
    with pytest.raises(ConfigError, match="not found"):
        load_checkpoint(path)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ConfigError, match="cannot read"):
        load_checkpoint(path)
    torch.save({"something": 1}, path)
    with pytest.raises(ConfigError, match="not a tailor"):
        load_checkpoint(path)
    state = {
        k: 0
        for k in (
            "model",
            "optimizer",
            "epoch",
            "step",
            "config",
            "path_sampler",
            "data_sampler",
            "rng",
        )
    }
    save_checkpoint(path, state)
    assert load_checkpoint(path)["epoch"] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temp file left behind
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated mid-write by something else
    with pytest.raises(ConfigError):
        load_checkpoint(path)


def test_bad_inputs_are_config_errors(tmp_path, digits):
    with pytest.raises(ConfigError, match="sampler"):
        TrainSpec(sampler="greedy")
    with pytest.raises(ConfigError, match="supernet"):
        Trainer(_config(supernet="no_such_net"), data=digits)
    with pytest.raises(ConfigError, match="path not found"):
        load_data(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no class folders"):
        load_data(str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="epochs"):
        TrainSpec(epochs=0)


def _image_folder(root, classes=("cat", "dog"), n=6, size=10):
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(n):
            arr = (rng.random((size, size, 3)) * 60 + 150 * c).astype(np.uint8)
            Image.fromarray(arr).save(root / name / f"{i}.png")


def test_image_folder_loads_and_trains(tmp_path):
    _image_folder(tmp_path / "imgs")
    data = load_data(str(tmp_path / "imgs"), val_fraction=0.34, image_size=8)
    assert data.classes == ("cat", "dog") and data.in_channels == 3
    assert data.x_train.shape[1:] == (3, 8, 8)
    assert len(data.x_train) == 8 and len(data.x_val) == 4
    cfg = _config(
        data=str(tmp_path / "imgs"),
        image_size=8,
        batch_size=4,
        epochs=1,
        supernet_kwargs={"channels": 4, "image_size": 8},
    )
    result = Trainer(cfg).run(resume=False)
    assert result.supernet.num_classes == 2 and result.supernet.in_channels == 3
    (tmp_path / "bad" / "a").mkdir(parents=True)
    (tmp_path / "bad" / "b").mkdir()
    (tmp_path / "bad" / "a" / "x.png").write_bytes(b"garbage")
    with pytest.raises(ConfigError, match="cannot read image"):
        load_data(str(tmp_path / "bad"))


def test_cli_train_and_errors(tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "train",
        "--sampler",
        "padad",
        "--epochs",
        "1",
        "--batch-size",
        "256",
        "--supernet-args",
        '{"channels": 4}',
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert load_checkpoint(out / CHECKPOINT_NAME)["epoch"] == 1
    assert main(["train", "--sampler", "greedy", "--out", str(out)]) == 2
    assert main(["train", "--data", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert main(["train", "--supernet", "nope", "--out", str(out)]) == 2
    (out / CHECKPOINT_NAME).write_bytes(b"corrupt")
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("tailor: error:")]
    assert len(lines) == 4
    assert "sampler" in lines[0] and "path not found" in lines[1]
    assert "unknown name 'nope'" in lines[2] and "checkpoint" in lines[3]


@pytest.mark.parametrize("family", ["mobilenetv3"])
def test_cli_padad_on_builtin_elastic_family(family, tmp_path):
    """`tailor train --sampler padad` on an elastic family (shared sliced weights, elastic
    resolution): the generic path score is used."""
    from tailor.supernets import list_supernets

    if family not in list_supernets():
        pytest.skip(f"{family} is not registered in this checkout")
    small = (
        '{"resolutions": [16, 24], "width_mult": 0.25, "final_channels": 32, '
        '"head_channels": 32, "depths": [1, 2], "stage_channels": [8, 8, 16, 16, 16]}'
    )
    out = tmp_path / "run"
    args = [
        "train",
        "--supernet",
        family,
        "--supernet-args",
        small,
        "--sampler",
        "padad",
        "--epochs",
        "1",
        "--batch-size",
        "512",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    state = load_checkpoint(out / CHECKPOINT_NAME)
    assert state["config"]["supernet"] == family and state["step"] == 2
    scores = np.asarray(state["path_sampler"]["scores"])
    assert np.isfinite(scores).sum() >= 5  # the active choices were scored (generic score)


@pytest.mark.parametrize("kw, field", [({"optimizer": "fira"}, "rank"), ({"optimizer": "galore", "rank": 0}, "rank"),
                                       ({"optimizer": "sgd", "rank": 4}, "rank"), ({"optimizer": "lion"}, "optimizer")])
def test_optimizer_settings_are_validated(kw, field):
    with pytest.raises(ConfigError) as info:
        _config(**kw)
    assert info.value.field == field


def test_low_rank_optimizers_train_and_report_their_state(digits):
    """`--optimizer adamw|galore|fira` train every family; Fira keeps less state than AdamW."""
    records = {}
    for name, rank in (("adamw", None), ("galore", 2), ("fira", 2)):
        trainer = Trainer(_config(optimizer=name, rank=rank, epochs=1), data=digits)
        before = [p.detach().clone() for p in trainer.supernet.parameters()]
        records[name] = trainer.run(resume=False).history[-1]
        assert any(not torch.equal(a, b) for a, b in zip(before, trainer.supernet.parameters(), strict=True))
        assert math.isfinite(records[name]["loss"]) and records[name]["peak_rss_bytes"] > 0
    assert 0 < records["galore"]["optimizer_state_bytes"] < records["adamw"]["optimizer_state_bytes"]
    # Fira's state is GaLore's plus one number (the previous residual norm) per projected matrix
    assert 0 < records["fira"]["optimizer_state_bytes"] - records["galore"]["optimizer_state_bytes"] <= 4 * 64
