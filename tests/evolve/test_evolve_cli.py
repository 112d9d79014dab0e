"""`tailor evolve` bad input: one line, exit code 2, no traceback, no hang."""

import socket
import time

import pytest

from tailor.cli import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args,expect", [
    (["Pong-v9"], "tailor: error: task: unknown name 'Pong-v9' (allowed: Acrobot-v1, CartPole-v1, Hopper-v5, "
                  "MountainCar-v0, hardmaze, hardmaze-image)"),
    (["CartPole-v1", "--population", "5", "--truncation", "8"], "tailor: error: truncation: must be in "
                                                                  "0..population (5), got 8"),
    (["CartPole-v1", "--sigma", "0"], "tailor: error: sigma: must be > 0, got 0.0"),
    (["CartPole-v1", "--sigma", "-0.1"], "tailor: error: sigma: must be > 0, got -0.1"),
    (["CartPole-v1", "--novelty", "yes"], "tailor: error: novelty: unknown mode 'yes' (allowed: off, ns, mix)"),
    (["CartPole-v1", "--workers", "-1"], "tailor: error: workers: must be >= 0, got -1"),
])
def test_bad_input_is_one_line_exit_2(args, expect, capsys, tmp_path):
    assert main(["evolve", *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == expect and "\n" not in err


def test_unreachable_ray_address_fails_fast(capsys, tmp_path):
    t = time.time()
    port = _free_port()
    assert main(["evolve", "CartPole-v1", "--ray", f"127.0.0.1:{port}", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"tailor: error: ray: cannot reach 127.0.0.1:{port} within 5s") and "\n" not in err
    assert main(["evolve", "CartPole-v1", "--ray", "nonsense", "--out", str(tmp_path / "o")]) == 2
    assert "ray: expected HOST:PORT" in capsys.readouterr().err
    assert time.time() - t < 15
