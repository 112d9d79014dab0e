"""A deceptive hard maze in the layout of Lehman & Stanley's ("Abandoning Objectives", 2011):
a point robot with six rangefinders and four goal-radar slices starts bottom left; the goal is top
left behind a wall, so moving straight towards it ends in a dead end (the deceptive local optimum)
and the way round goes right, up and back along the top.

The wall coordinates follow the published hard-maze picture (200 x 200 units, y grows downwards);
the sensor and motion model follow their simulator (``maze.h`` of the NEAT novelty-search code,
re-implemented here as numba kernels), so ``HardMazeEnv`` (a gymnasium.Env, one step per call) and
``rollout_mlp`` (a whole episode in one compiled call, for the GA's inner loop) share the same
physics.

Motion as in the original: the two outputs are *accelerations*. Each step the speed changes by
``ACCEL * speed_output`` (clamped to +-``MAX_SPEED`` units/step) and the turn rate by
``ACCEL * turn_output`` (clamped to +-``MAX_TURN_RATE`` degrees/step); the robot moves along its
heading from before the turn, and a move that would touch a wall is not taken (speed and turn rate
are kept). An earlier version set speed and a 15-degree turn directly from the outputs each step:
its evolved policies stalled against walls and weaved, so novelty search's frontier ran out of the
400 steps short of the goal (see docs/benchmarks/evolve.md).
"""

from __future__ import annotations

import math

import gymnasium as gym
import numba
import numpy as np

WALLS = np.array([  # x1, y1, x2, y2
    [41, 5, 3, 8], [3, 8, 4, 49], [4, 49, 7, 202], [7, 202, 195, 198], [195, 198, 186, 8], [186, 8, 39, 5],
    [4, 49, 57, 53], [56, 54, 56, 157], [57, 106, 158, 162], [77, 201, 108, 164], [6, 80, 33, 121],
    [192, 146, 87, 91], [56, 55, 133, 30],
], dtype=np.float64)
START = (36.0, 184.0)
GOAL = (31.0, 20.0)
GOAL_RADIUS = 5.0
RADIUS = 8.0
RANGE = 100.0
MAX_SPEED = 3.0  # units per step
MAX_TURN_RATE = math.radians(3.0)  # per step
ACCEL = 0.5  # an output in [-1, 1] changes speed (units/step) or turn rate (degrees/step) by ACCEL * it
MAX_STEPS = 400
RANGEFINDERS = np.radians(np.array([-90.0, -45.0, 0.0, 45.0, 90.0, -180.0]))
OBS_DIM = 6 + 4
START_HEADING = 0.0


@numba.njit(cache=True)
def _ray_hit(x, y, angle, walls, max_range):
    dx, dy = math.cos(angle), math.sin(angle)
    best = max_range
    for i in range(walls.shape[0]):
        x1, y1, x2, y2 = walls[i, 0], walls[i, 1], walls[i, 2], walls[i, 3]
        ex, ey = x2 - x1, y2 - y1
        den = dx * ey - dy * ex
        if abs(den) < 1e-12:
            continue
        t = ((x1 - x) * ey - (y1 - y) * ex) / den  # along the ray
        u = ((x1 - x) * dy - (y1 - y) * dx) / den  # along the wall
        if t >= 0.0 and 0.0 <= u <= 1.0 and t < best:
            best = t
    return best


@numba.njit(cache=True)
def _sensors_into(obs, x, y, heading, walls, rangefinders, gx, gy, max_range):
    """Write the six rangefinder readings and the four goal-radar slices into ``obs`` (no allocation:
    the rollout calls this 400 times an episode)."""
    for k in range(rangefinders.shape[0]):
        obs[k] = _ray_hit(x, y, heading + rangefinders[k], walls, max_range) / max_range
    for k in range(6, 10):
        obs[k] = 0.0
    rel = math.atan2(gy - y, gx - x) - heading
    rel = (rel + math.pi) % (2.0 * math.pi) - math.pi  # in [-pi, pi)
    # four 90-degree pie slices: front, right, back, left (y grows downwards)
    if -math.pi / 4 <= rel < math.pi / 4:
        obs[6] = 1.0
    elif math.pi / 4 <= rel < 3 * math.pi / 4:
        obs[7] = 1.0
    elif -3 * math.pi / 4 <= rel < -math.pi / 4:
        obs[9] = 1.0
    else:
        obs[8] = 1.0


@numba.njit(cache=True)
def _sensors(x, y, heading, walls, rangefinders, gx, gy, max_range):
    obs = np.zeros(10, dtype=np.float32)
    _sensors_into(obs, x, y, heading, walls, rangefinders, gx, gy, max_range)
    return obs


@numba.njit(cache=True)
def _collides(x, y, walls, radius):
    for i in range(walls.shape[0]):
        x1, y1, x2, y2 = walls[i, 0], walls[i, 1], walls[i, 2], walls[i, 3]
        ex, ey = x2 - x1, y2 - y1
        t = ((x - x1) * ex + (y - y1) * ey) / (ex * ex + ey * ey)
        t = min(1.0, max(0.0, t))
        px, py = x1 + t * ex - x, y1 + t * ey - y
        if px * px + py * py < radius * radius:
            return True
    return False


@numba.njit(cache=True)
def _move(x, y, heading, speed, turn_rate, turn_out, speed_out, walls, radius, max_turn_rate, max_speed):
    """One step of the original robot: the outputs accelerate speed and turn rate (clamped), the
    robot moves along its current heading, then turns; a move that would touch a wall is not taken.
    Returns (x, y, heading, speed, turn_rate)."""
    turn_out = min(1.0, max(-1.0, turn_out))
    speed_out = min(1.0, max(-1.0, speed_out))
    turn_rate = min(max_turn_rate, max(-max_turn_rate, turn_rate + ACCEL * turn_out * max_turn_rate / 3.0))
    speed = min(max_speed, max(-max_speed, speed + ACCEL * speed_out * max_speed / 3.0))
    nx = x + math.cos(heading) * speed
    ny = y + math.sin(heading) * speed
    heading = heading + turn_rate
    if _collides(nx, ny, walls, radius):
        return x, y, heading, speed, turn_rate
    return nx, ny, heading, speed, turn_rate


@numba.njit(cache=True)
def _rollout(theta, sizes, walls, rangefinders, sx, sy, sh, gx, gy, goal_radius, radius, max_range,
             max_turn_rate, max_speed, max_steps, trajectory):
    """A whole episode of the tanh MLP ``theta`` (torch layout); returns (x, y, steps, reached)."""
    x, y, h = sx, sy, sh
    v, w = 0.0, 0.0  # speed, turn rate: the robot starts at rest
    n_layers = sizes.shape[0] - 1
    steps = 0
    reached = False
    width = 10
    for layer in range(sizes.shape[0]):
        width = max(width, sizes[layer])
    obs = np.zeros(10, dtype=np.float32)
    act = np.zeros(width)  # layer buffers, reused every step
    nxt = np.zeros(width)
    for step in range(max_steps):
        _sensors_into(obs, x, y, h, walls, rangefinders, gx, gy, max_range)
        for i in range(10):
            act[i] = obs[i]
        at = 0
        for layer in range(n_layers):
            n_in, n_out = sizes[layer], sizes[layer + 1]
            for o in range(n_out):
                s = theta[at + n_in * n_out + o]
                for i in range(n_in):
                    s += theta[at + o * n_in + i] * act[i]
                nxt[o] = math.tanh(s)
            at += n_in * n_out + n_out
            for o in range(n_out):
                act[o] = nxt[o]
        x, y, h, v, w = _move(x, y, h, v, w, act[0], act[1], walls, radius, max_turn_rate, max_speed)
        if trajectory.shape[0] > step:
            trajectory[step, 0] = x
            trajectory[step, 1] = y
        steps += 1
        if (x - gx) ** 2 + (y - gy) ** 2 <= goal_radius * goal_radius:
            reached = True
            break
    return x, y, steps, reached


def rollout_mlp(theta: np.ndarray, sizes: tuple[int, ...], record: bool = False):
    """One episode of a tanh MLP policy in one compiled call: ``(return, (x, y), steps, reached,
    trajectory or None)``. Same physics and reward as ``HardMazeEnv``."""
    traj = np.zeros((MAX_STEPS if record else 0, 2))
    x, y, steps, reached = _rollout(
        np.asarray(theta, dtype=np.float64), np.asarray(sizes, dtype=np.int64), WALLS, RANGEFINDERS,
        START[0], START[1], START_HEADING, GOAL[0], GOAL[1], GOAL_RADIUS, RADIUS, RANGE, MAX_TURN_RATE, MAX_SPEED,
        MAX_STEPS, traj)
    ret = -math.hypot(x - GOAL[0], y - GOAL[1])
    return ret, (x, y), steps, reached, (traj[:steps] if record else None)


class HardMazeEnv(gym.Env):
    """The hard maze as a gymnasium environment. Action: (turn, speed) accelerations in [-1, 1]; observation:
    six rangefinder distances / 100 and four goal-radar slices. The reward is 0 until the episode
    ends, then minus the distance to the goal, so the return is the classic distance fitness.
    ``info["position"]`` is the behaviour characterisation; ``info["reached"]`` whether it got there."""

    metadata = {"render_modes": []}

    def __init__(self, max_steps: int = MAX_STEPS):
        self.observation_space = gym.spaces.Box(0.0, 1.0, (OBS_DIM,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)
        self.max_steps = max_steps
        self._state = (START[0], START[1], START_HEADING)
        self._vel = (0.0, 0.0)  # speed, turn rate
        self._t = 0

    def _obs(self) -> np.ndarray:
        x, y, h = self._state
        return _sensors(x, y, h, WALLS, RANGEFINDERS, GOAL[0], GOAL[1], RANGE)

    def _info(self, reached: bool = False) -> dict:
        return {"position": (self._state[0], self._state[1]), "reached": reached}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._state = (START[0], START[1], START_HEADING)
        self._vel = (0.0, 0.0)
        self._t = 0
        return self._obs(), self._info()

    def step(self, action):
        a = np.asarray(action, dtype=np.float64)
        x, y, h = self._state
        x, y, h, v, w = _move(x, y, h, self._vel[0], self._vel[1], float(a[0]), float(a[1]), WALLS, RADIUS,
                              MAX_TURN_RATE, MAX_SPEED)
        self._state, self._vel = (x, y, h), (v, w)
        self._t += 1
        x, y, _ = self._state
        dist = math.hypot(x - GOAL[0], y - GOAL[1])
        reached = dist <= GOAL_RADIUS
        truncated = self._t >= self.max_steps
        reward = -dist if (reached or truncated) else 0.0
        return self._obs(), reward, reached, truncated and not reached, self._info(reached)
