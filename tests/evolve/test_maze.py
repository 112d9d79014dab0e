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
    # full speed ahead along the start heading (east, along the bottom wall) for the whole episode
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
    x, y, h, v, w = maze.START[0], maze.START[1], -math.pi / 2, 0.0, 0.0  # y grows downwards: north is -pi/2
    for _ in range(200):
        x, y, h, v, w = maze._move(x, y, h, v, w, 0.0, 1.0, maze.WALLS, maze.RADIUS, maze.MAX_TURN_RATE,
                                   maze.MAX_SPEED)
    assert 121 < y < 135 and abs(x - maze.START[0]) < 1e-6
    assert maze.RADIUS <= _dist_to_segment(x, y, maze.WALLS[10]) < maze.RADIUS + maze.MAX_SPEED
    assert v == maze.MAX_SPEED  # blocked, the robot keeps its speed (as in the original simulator)


def test_outputs_accelerate_speed_and_turn_rate_as_in_the_original():
    """Lehman & Stanley's robot: each output changes speed (units/step) or turn rate (degrees/step)
    by at most 0.5 a step, clamped to 3; the move follows the heading from before the turn."""
    env = maze.HardMazeEnv()
    env.reset(seed=0)
    xs, speeds = [], []
    for _ in range(8):  # full speed ahead, no turn: 0.5, 1.0, ... 3.0, 3.0
        _, _, _, _, info = env.step(np.array([0.0, 1.0]))
        xs.append(info["position"][0] - maze.START[0])
        speeds.append(env._vel[0])
    assert np.allclose(speeds, [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0, 3.0])
    assert np.allclose(xs, np.cumsum(speeds))
    env.reset(seed=0)
    headings = []
    for _ in range(9):  # full turn, half speed: the turn rate reaches 3 degrees/step after 6 steps
        env.step(np.array([1.0, 0.5]))
        headings.append(math.degrees(env._state[2]))
    assert np.allclose(headings, np.cumsum([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0, 3.0, 3.0]))
    # the first move is along the start heading (east), before the first turn
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([1.0, 1.0]))
    assert info["position"] == (maze.START[0] + 0.5, maze.START[1])


# the shortest route of the radius-8 robot (3 units from every wall), every 15 units
ROUTE = [(36, 184), (51, 184), (66, 184), (81, 175), (96, 160), (111, 153), (126, 157), (141, 172), (156, 173),
         (169, 165), (162, 151), (147, 143), (132, 135), (117, 126), (102, 118), (87, 107), (76, 92), (85, 80),
         (100, 79), (115, 64), (130, 49), (144, 34), (138, 20), (123, 19), (108, 19), (93, 19), (78, 19), (63, 19),
         (48, 19), (33, 19), (31, 20)]


def _pure_pursuit(route, lookahead=15.0):
    """Steps a hand-written pure-pursuit driver needs to reach the goal (None: not in the episode)."""
    path = []
    for (ax, ay), (bx, by) in zip(route[:-1], route[1:], strict=True):
        n = max(1, int(math.hypot(bx - ax, by - ay)))
        path += [(ax + (bx - ax) * i / n, ay + (by - ay) * i / n) for i in range(n)]
    path = np.array([*path, route[-1]], dtype=np.float64)
    env = maze.HardMazeEnv()
    env.reset(seed=0)
    near = 0
    for t in range(maze.MAX_STEPS):
        (x, y, h), (v, w) = env._state, env._vel
        near += int(np.argmin(np.hypot(*(path[near:near + 40] - (x, y)).T)))
        ahead = near
        while ahead < len(path) - 1 and math.hypot(*(path[ahead] - (x, y))) < lookahead:
            ahead += 1
        a = (math.atan2(path[ahead, 1] - y, path[ahead, 0] - x) - h + math.pi) % (2 * math.pi) - math.pi
        curvature = 2 * math.sin(a) / max(1.0, math.hypot(*(path[ahead] - (x, y))))
        if abs(a) < math.pi / 2:  # as fast as the turn-rate limit allows on this arc
            v_goal = min(maze.MAX_SPEED, maze.MAX_TURN_RATE / max(abs(curvature), 1e-6))
            w_goal = max(-maze.MAX_TURN_RATE, min(maze.MAX_TURN_RATE, v_goal * curvature))
        else:
            v_goal, w_goal = 0.3, math.copysign(maze.MAX_TURN_RATE, a)
        action = np.clip([(w_goal - w) / (maze.ACCEL * maze.MAX_TURN_RATE / 3), (v_goal - v) / maze.ACCEL], -1, 1)
        _, _, terminated, _, _ = env.step(action)
        if terminated:
            return t + 1
    return None


def test_the_goal_is_reachable_within_the_episode():
    """The original robot can drive the route in the 400 steps, though not with much to spare: its
    3-degree turn rate forces slow corners (at full speed it turns on a 57-unit radius)."""
    steps = _pure_pursuit(ROUTE)
    assert steps is not None and 300 < steps < maze.MAX_STEPS
    assert _pure_pursuit(ROUTE[:16] + ROUTE[18:]) is None  # cutting the corner at (87, 91) runs into the wall


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
