"""Research probes on training (``tailor.lab.probes``): they measure without changing training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tailor.errors import ConfigError
from tailor.lab.probes import ProbedTrainer, probe_grad_variance
from tailor.lab.step_cost import TIMED, interleaved_step_times, step_overheads
from tailor.train import Trainer, TrainSpec, load_data


def _config(**kw) -> TrainSpec:
    base = {"supernet_kwargs": {"channels": 4}, "epochs": 2, "batch_size": 32, "max_steps_per_epoch": 4,
            "lr": 0.05, "seed": 0}
    return TrainSpec(**{**base, **kw})


@pytest.fixture(scope="module")
def digits():
    return load_data("digits")


@pytest.mark.parametrize("sampler", ["spos", "padad"])
def test_probes_leave_training_unchanged(sampler, digits):
    """The frozen-weight probe draws from its own streams and restores batch-norm buffers; the
    in-run tracker and the sampler clock only read: losses and weights equal a plain Trainer's."""
    plain = Trainer(_config(sampler=sampler), data=digits)
    plain.run(resume=False)
    probed = ProbedTrainer(_config(sampler=sampler), data=digits, track_grad_variance=True, probe_draws=3)
    probed.run(resume=False)
    for a, b in zip(plain.supernet.state_dict().values(), probed.supernet.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert [h["loss"] for h in plain.history] == [h["loss"] for h in probed.history]
    assert all(h["probe_grad_variance"] > 0 and h["probe_uniform_grad_variance"] > 0 for h in probed.history)
    assert all(h["grad_variance"] > 0 and h["sampler_step_seconds"] > 0 for h in probed.history)
    assert "probe_grad_variance" not in plain.history[0] and "sampler_step_seconds" not in plain.history[0]


def test_probes_off_record_none_and_keep_checkpoints_of_the_sampler(tmp_path, digits):
    trainer = ProbedTrainer(_config(sampler="padad", epochs=1), tmp_path, data=digits)
    record = trainer.run(resume=False).history[-1]
    assert record["grad_variance"] is None and record["probe_grad_variance"] is None
    state = trainer.state_dict()  # the timed samplers checkpoint as the samplers themselves
    assert state["path_sampler"].keys() == trainer.path_sampler.sampler.state_dict().keys()
    with pytest.raises(ConfigError, match="probe_draws"):
        ProbedTrainer(_config(), data=digits, probe_draws=1)


def test_variance_probe_shrinks_with_the_batch(digits):
    """At fixed weights the sampling variance of a mean over B examples falls roughly as 1/B."""
    values = {}
    for batch in (8, 128):
        trainer = Trainer(_config(sampler="spos", batch_size=batch), data=digits)
        values[batch] = probe_grad_variance(trainer, 24)[0]
    assert values[128] < values[8] / 4


def test_interleaved_step_times(digits):
    t = interleaved_step_times(digits, supernet_kwargs={"channels": 4}, repeats=2)
    assert set(t) == set(TIMED)
    assert all(v["median_ms"] > 0 and v["cpu_median_ms"] > 0 and v["sampler_median_ms"] > 0 for v in t.values())
    ratios = step_overheads(t)
    assert np.isfinite(list(ratios.values())).all()
