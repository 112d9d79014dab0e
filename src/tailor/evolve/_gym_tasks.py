"""The built-in tasks: gymnasium's CartPole-v1, Acrobot-v1, MountainCar-v0, Hopper-v5 (MuJoCo)
and the built-in hard maze, each with an MLP policy, a behaviour characterisation and GA defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from tailor.evolve import maze
from tailor.evolve._policy import NumpyPolicy, PolicySpec
from tailor.evolve._tasks import Episode, GADefaults, register_task

Behaviour = Callable[[gym.Env, np.ndarray, dict, float], tuple[float, ...]]


class GymTask:
    """A gymnasium environment driven by a numpy MLP; one env per task object (per worker)."""

    def __init__(self, name: str, env_id: str, hidden: tuple[int, ...], defaults: GADefaults,
                 behaviour: Behaviour, behaviour_dim: int, max_steps: int | None = None,
                 success_on_terminate: bool = True, **env_kwargs):
        self.name = name
        self._success_on_terminate = success_on_terminate  # CartPole terminates on failure
        self.env = gym.make(env_id, max_episode_steps=max_steps, **env_kwargs) if max_steps else gym.make(
            env_id, **env_kwargs)
        space = self.env.action_space
        discrete = isinstance(space, gym.spaces.Discrete)
        act_dim = int(space.n) if discrete else int(space.shape[0])
        scale = 1.0 if discrete else float(np.max(space.high))
        self.policy = PolicySpec(int(self.env.observation_space.shape[0]), act_dim, tuple(hidden), discrete, scale)
        self.defaults = defaults
        self.behaviour_dim = behaviour_dim
        self._behaviour = behaviour

    def episode(self, theta: np.ndarray, seed: int) -> Episode:
        policy = NumpyPolicy(self.policy, theta)
        obs, info = self.env.reset(seed=int(seed))
        total, frames, reached = 0.0, 0, False
        while True:
            obs, reward, terminated, truncated, info = self.env.step(policy.act(obs))
            total += float(reward)
            frames += 1
            if terminated or truncated:
                reached = bool(terminated) and self._success_on_terminate
                break
        return Episode(total, tuple(float(v) for v in self._behaviour(self.env, obs, info, total)), frames, reached)


@dataclass(frozen=True)
class MLPOptions:
    """Options every built-in task takes: hidden layer widths of the MLP policy (empty: linear)."""

    hidden: tuple[int, ...] = (16,)


@dataclass(frozen=True)
class HopperOptions:
    hidden: tuple[int, ...] = (64, 64)
    max_steps: int = 1000


@register_task("CartPole-v1", MLPOptions, "gymnasium CartPole-v1 (solved at 475); behaviour: final cart x, angle")
def _cartpole(o: MLPOptions) -> GymTask:
    return GymTask("CartPole-v1", "CartPole-v1", o.hidden,
                   GADefaults(population=50, truncation=10, sigma=0.1, generations=30, elite_episodes=5,
                              solved_at=475.0),
                   lambda env, obs, info, ret: (float(obs[0]), float(obs[2])), 2, success_on_terminate=False)


@register_task("Acrobot-v1", MLPOptions, "gymnasium Acrobot-v1; behaviour: final cos/sin of both links")
def _acrobot(o: MLPOptions) -> GymTask:
    return GymTask("Acrobot-v1", "Acrobot-v1", o.hidden,
                   GADefaults(population=50, truncation=10, sigma=0.1, generations=30, elite_episodes=5,
                              solved_at=-100.0),
                   lambda env, obs, info, ret: tuple(float(v) for v in obs[:4]), 4)


@register_task("MountainCar-v0", MLPOptions, "gymnasium MountainCar-v0 (sparse, deceptive); behaviour: final "
               "position, velocity")
def _mountaincar(o: MLPOptions) -> GymTask:
    return GymTask("MountainCar-v0", "MountainCar-v0", o.hidden,
                   GADefaults(population=100, truncation=20, sigma=0.5, generations=50, elite_episodes=5,
                              solved_at=-110.0),
                   lambda env, obs, info, ret: (float(obs[0]), float(obs[1]) * 10.0), 2)


@register_task("Hopper-v5", HopperOptions, "gymnasium[mujoco] Hopper-v5; behaviour: final x position, height")
def _hopper(o: HopperOptions) -> GymTask:
    return GymTask("Hopper-v5", "Hopper-v5", o.hidden,
                   GADefaults(population=50, truncation=10, sigma=0.02, generations=50, elite_episodes=3),
                   lambda env, obs, info, ret: (float(info.get("x_position", 0.0)), float(obs[0])), 2,
                   max_steps=o.max_steps, success_on_terminate=False)


@dataclass(frozen=True)
class MazeOptions:
    hidden: tuple[int, ...] = (16,)


class HardMazeTask:
    """The built-in hard maze; episodes run as one compiled rollout (same physics as ``HardMazeEnv``)."""

    name = "hardmaze"
    behaviour_dim = 2

    def __init__(self, o: MazeOptions):
        self.policy = PolicySpec(maze.OBS_DIM, 2, tuple(o.hidden), discrete=False, act_scale=1.0)
        # deterministic: one re-evaluation episode suffices; solved = within the goal radius. sigma 0.1
        # chosen on development seeds 100-103 (docs/benchmarks/evolve.md)
        self.defaults = GADefaults(population=200, truncation=40, sigma=0.1, generations=200, elite_episodes=1,
                                   archive_prob=0.05, solved_at=-maze.GOAL_RADIUS, parents_survive=True)

    def episode(self, theta: np.ndarray, seed: int) -> Episode:
        ret, (x, y), steps, reached, _ = maze.rollout_mlp(theta, self.policy.sizes)
        return Episode(ret, (x, y), steps, reached)

    def trajectory(self, theta: np.ndarray, seed: int) -> np.ndarray:
        return maze.rollout_mlp(theta, self.policy.sizes, record=True)[4]


@register_task("hardmaze", MazeOptions, "built-in deceptive hard maze (Lehman & Stanley layout); behaviour: "
               "final (x, y)", revision=2)  # 2: the original robot's accelerating motion
def _hardmaze(o: MazeOptions) -> HardMazeTask:
    return HardMazeTask(o)
