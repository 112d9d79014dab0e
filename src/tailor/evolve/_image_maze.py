"""The Image Hard Maze (Such et al. 2017): the hard maze seen from above as pixels instead of
rangefinders and radar, for a conv policy. Same walls, start, goal, physics and reward as
``maze.HardMazeEnv``; the observation is a (2, S, S) numpy rendering: channel 0 the walls (1) and
the goal (0.5), channel 1 the robot's body (1) and a nose pixel ahead of it (0.5) for its heading."""

from __future__ import annotations

import math
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from tailor.errors import ConfigError
from tailor.evolve import maze
from tailor.evolve._policy import PolicyIO, TorchPolicy, build_policy
from tailor.evolve._tasks import Episode, GADefaults, register_task

WORLD = 205.0  # maze units covered by the image (walls span 3..195 x 5..202)
CHANNELS = 2


def _pixel(v: float, size: int) -> int:
    return min(size - 1, max(0, int(v * size / WORLD)))


def static_image(size: int) -> np.ndarray:
    """Walls (1.0) and goal (0.5), drawn once: each wall sampled at a quarter of a pixel."""
    img = np.zeros((size, size), dtype=np.float32)
    for x1, y1, x2, y2 in maze.WALLS:
        n = int(math.hypot(x2 - x1, y2 - y1) * size / WORLD * 4) + 2
        for t in np.linspace(0.0, 1.0, n):
            img[_pixel(y1 + t * (y2 - y1), size), _pixel(x1 + t * (x2 - x1), size)] = 1.0
    _disc(img, maze.GOAL[0], maze.GOAL[1], maze.GOAL_RADIUS, 0.5, size)
    return img


def _disc(img: np.ndarray, x: float, y: float, r: float, value: float, size: int) -> None:
    """Pixels whose centre lies within ``r`` (at least half a pixel) of (x, y)."""
    scale = size / WORLD
    r = max(r, 0.5 / scale)
    lo_x, hi_x = _pixel(x - r, size), _pixel(x + r, size)
    lo_y, hi_y = _pixel(y - r, size), _pixel(y + r, size)
    cx = (np.arange(lo_x, hi_x + 1) + 0.5) / scale
    cy = (np.arange(lo_y, hi_y + 1) + 0.5) / scale
    inside = (cx[None, :] - x) ** 2 + (cy[:, None] - y) ** 2 <= r * r
    patch = img[lo_y:hi_y + 1, lo_x:hi_x + 1]
    patch[inside] = value
    if not inside.any():  # a radius below the pixel grid: the centre's pixel
        img[_pixel(y, size), _pixel(x, size)] = value


class HardMazeImageEnv(maze.HardMazeEnv):
    """``HardMazeEnv`` with a (2, size, size) top-down image as its observation."""

    def __init__(self, size: int = 48, max_steps: int = maze.MAX_STEPS):
        if size < 16:
            raise ConfigError("size", f"must be >= 16 pixels, got {size}")
        super().__init__(max_steps)
        self.size = size
        self._walls = static_image(size)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (CHANNELS, size, size), dtype=np.float32)

    def _obs(self) -> np.ndarray:
        x, y, h = self._state
        obs = np.zeros((CHANNELS, self.size, self.size), dtype=np.float32)
        obs[0] = self._walls
        nose = maze.RADIUS + 4.0
        _disc(obs[1], x + math.cos(h) * nose, y + math.sin(h) * nose, 0.0, 0.5, self.size)
        _disc(obs[1], x, y, maze.RADIUS, 1.0, self.size)
        return obs


@dataclass(frozen=True)
class ImageMazeOptions:
    """Image side in pixels, episode length, and the conv policy (see ``ConvOptions``)."""

    size: int = 48
    max_steps: int = maze.MAX_STEPS
    channels: tuple[int, ...] = (32, 64, 64)
    kernels: tuple[int, ...] = (8, 4, 3)
    strides: tuple[int, ...] = (4, 2, 1)
    hidden: tuple[int, ...] = (256,)


class ImageHardMazeTask:
    """The hard maze on pixels with a conv policy run as a torch module (one per worker)."""

    name = "hardmaze-image"
    behaviour_dim = 2

    def __init__(self, o: ImageMazeOptions):
        self.env = HardMazeImageEnv(o.size, o.max_steps)
        io = PolicyIO((CHANNELS, o.size, o.size), 2, discrete=False, act_scale=1.0)
        self.policy = build_policy("conv", {"channels": o.channels, "kernels": o.kernels, "strides": o.strides,
                                            "hidden": o.hidden}, io)
        self._runner = TorchPolicy(self.policy)
        # deterministic, like the rangefinder maze; sigma at the Atari Deep GA's scale for a conv net
        self.defaults = GADefaults(population=100, truncation=20, sigma=0.005, generations=50, elite_episodes=1,
                                   archive_prob=0.05, solved_at=-maze.GOAL_RADIUS)

    def _run(self, theta: np.ndarray, record: bool) -> tuple[Episode, np.ndarray]:
        policy = self._runner.load(theta)
        obs, info = self.env.reset(seed=0)
        total, frames, path = 0.0, 0, []
        while True:
            obs, reward, terminated, truncated, info = self.env.step(policy.act(obs))
            total += float(reward)
            frames += 1
            if record:
                path.append(info["position"])
            if terminated or truncated:
                break
        ep = Episode(total, tuple(float(v) for v in info["position"]), frames, bool(info["reached"]))
        return ep, np.array(path, dtype=np.float64).reshape(-1, 2)

    def episode(self, theta: np.ndarray, seed: int) -> Episode:
        return self._run(theta, record=False)[0]

    def trajectory(self, theta: np.ndarray, seed: int) -> np.ndarray:
        return self._run(theta, record=True)[1]


@register_task("hardmaze-image", ImageMazeOptions, "the hard maze as a top-down image with a conv policy (Image "
               "Hard Maze); behaviour: final (x, y)", revision=2)  # 2: the original robot's accelerating motion
def _image_hardmaze(o: ImageMazeOptions) -> ImageHardMazeTask:
    return ImageHardMazeTask(o)
