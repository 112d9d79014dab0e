"""Every registered task builds from its spec, runs an episode, and its exported ONNX policy
computes what the rollout's numpy policy computes."""

import numpy as np
import pytest

from tailor.errors import ConfigError, UnknownNameError
from tailor.evolve import Genome, TaskSpec, init_scales, list_tasks, rebuild
from tailor.evolve._policy import TorchPolicy


@pytest.mark.parametrize("name", sorted(list_tasks()))
def test_task_runs_an_episode_and_exports(name, tmp_path):
    task = TaskSpec(name).build()
    theta = rebuild(Genome(5).child(9, 0.1), init_scales(task.policy))
    a, b = task.episode(theta, 3), task.episode(theta, 3)
    assert a == b  # the episode seed fixes the episode
    assert a.frames > 0 and len(a.behaviour) == task.behaviour_dim and np.isfinite(a.ret)
    d = task.defaults
    assert d.population > d.truncation > 0 and d.sigma > 0

    import onnxruntime as ort

    from tailor.evolve._outputs import export_policy

    files = export_policy(tmp_path, task, Genome(5).child(9, 0.1))
    sess = ort.InferenceSession(str(files["onnx"]), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((1, *task.policy.input_shape)).astype(np.float32)
    got = sess.run(None, {"obs": x})[0][0]
    np.testing.assert_allclose(got, TorchPolicy(task.policy).load(theta).forward(x[0]), rtol=1e-4, atol=1e-5)


def test_task_spec_errors():
    with pytest.raises(UnknownNameError, match="allowed: Acrobot-v1, CartPole-v1"):
        TaskSpec("nope")
    with pytest.raises(ConfigError, match="width"):
        TaskSpec("CartPole-v1", {"width": 3})
    assert TaskSpec("CartPole-v1", {"hidden": [8, 8]}).build().policy.n_params == 4 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2
