"""The built-in hard maze: walls block, the env and the compiled rollout share physics."""

import math

import numpy as np

from tailor.evolve import maze
from tailor.evolve._policy import NumpyPolicy, PolicySpec


def _dist_to_segment(x, y, w):
    x1, y1, x2, y2 = w
    ex, ey = x2 - x1, y2 - y1
    t = min(1.0, max(0.0, ((x - x1) * ex + (y - y1) * ey) / (ex * ex + ey * ey)))
    return math.hypot(x1 + t * ex - x, y1 + t * ey - y)


def test_walls_block_the_robot():
    env = maze.HardMazeEnv()
    obs, info = env.reset(seed=0)
    assert info["position"] == maze.START and obs.shape == (maze.OBS_DIM,)
    # full speed along the start heading (east, along the bottom wall) for the whole episode
    positions = []
    for _ in range(maze.MAX_STEPS):
        obs, reward, terminated, truncated, info = env.step(np.array([0.0, 1.0]))
        positions.append(info["position"])
        if terminated or truncated:
            break
    assert truncated and not terminated
    assert reward == -math.hypot(positions[-1][0] - maze.GOAL[0], positions[-1][1] - maze.GOAL[1])
    for x, y in positions:  # never inside a wall's radius
        assert min(_dist_to_segment(x, y, w) for w in maze.WALLS) >= maze.RADIUS - 1e-9
    x, _ = positions[-1]
    assert 36 + 3 * 5 < x < 195  # it moved, and stopped at the diagonal wall (77,201)-(108,164)
    assert positions[-1] == positions[-2]  # stuck against it
    # heading north from the start: blocked by the end of the diagonal wall (6,80)-(33,121)
    env.reset(seed=0)
    for _ in range(6):  # turn -90 degrees (y grows downwards: north is -pi/2)
        env.step(np.array([-1.0, 0.0]))
    for _ in range(200):
        _, _, _, _, info = env.step(np.array([0.0, 1.0]))
    x, y = info["position"]
    assert 121 < y < 135 and abs(x - maze.START[0]) < 1e-6
    assert maze.RADIUS <= _dist_to_segment(x, y, maze.WALLS[10]) < maze.RADIUS + maze.MAX_SPEED


def test_rangefinders_read_the_walls():
    env = maze.HardMazeEnv()
    obs, _ = env.reset(seed=0)
    # facing east from (36, 184): the -90 degree finder looks north up the corridor, the +90 one
    # south at the bottom wall (y ~ 201 there)
    assert abs(obs[4] * maze.RANGE - (201.2 - 184)) < 1.0
    assert obs[2] == 1.0 or obs[2] * maze.RANGE > 30
    assert obs[6:].sum() == 1.0 and obs[8] == 0.0  # goal is north-west: one radar slice on, not 'back'


def test_compiled_rollout_matches_the_env():
    spec = PolicySpec(maze.OBS_DIM, 2, (8,), discrete=False)
    theta = (np.random.default_rng(1).standard_normal(spec.n_params) * 0.5).astype(np.float32)
    ret, pos, steps, reached, traj = maze.rollout_mlp(theta, spec.sizes, record=True)
    env, policy = maze.HardMazeEnv(), NumpyPolicy(spec, theta)
    obs, _ = env.reset(seed=0)
    total = 0.0
    for t in range(maze.MAX_STEPS):
        obs, r, term, trunc, info = env.step(policy.act(obs))
        total += r
        if t < 50:  # float32 (numpy) and float64 (compiled) policies agree step by step early on
            assert np.allclose(info["position"], traj[t], atol=1e-3)
        if term or trunc:
            break
    assert steps == t + 1 == maze.MAX_STEPS
    assert abs(total - ret) < 1.0 and np.allclose(info["position"], pos, atol=1.0)
