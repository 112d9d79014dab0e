"""The Image Hard Maze: the rendering shows the walls, goal and robot; the physics are the
rangefinder maze's; a conv-policy run resumed from its store equals an uninterrupted one."""

import numpy as np

from tailor.evolve import EvolveStore, GAConfig, Genome, LocalEvaluator, TaskSpec, evolve, init_scales, maze, rebuild
from tailor.evolve._image_maze import WORLD, HardMazeImageEnv

SMALL = {"size": 32, "max_steps": 30, "channels": [4, 8], "kernels": [8, 4], "strides": [4, 2], "hidden": [16]}


def _px(v, size):
    return int(v * size / WORLD)


def test_image_shows_walls_goal_and_robot():
    env = HardMazeImageEnv(size=48)
    obs, info = env.reset(seed=0)
    assert obs.shape == (2, 48, 48) and obs.dtype == np.float32
    walls = obs[0]
    # the left outer wall (x ~ 5 at y = 100) and the bottom wall (y ~ 200) are drawn; the start is free
    assert walls[_px(100, 48), _px(5, 48)] == 1.0 and walls[_px(200, 48), _px(100, 48)] == 1.0
    assert walls[_px(maze.GOAL[1], 48), _px(maze.GOAL[0], 48)] == 0.5
    sx, sy = _px(maze.START[0], 48), _px(maze.START[1], 48)
    assert obs[1][sy, sx] == 1.0 and walls[sy, sx] == 0.0
    assert 4 <= (obs[1] == 1.0).sum() <= 20  # a radius-8 body is a few pixels at 48 px / 205 units
    nose = np.argwhere(obs[1] == 0.5)
    assert len(nose) == 1 and nose[0][1] > sx  # heading east: the nose pixel is right of the body
    for _ in range(10):  # drive east: the body moves right, the walls stay
        obs2, *_ = env.step(np.array([0.0, 1.0]))
    assert np.array_equal(obs2[0], walls)
    assert np.argwhere(obs2[1] == 1.0)[:, 1].mean() > np.argwhere(obs[1] == 1.0)[:, 1].mean() + 4


def test_same_physics_as_the_rangefinder_maze():
    img, ref = HardMazeImageEnv(size=32), maze.HardMazeEnv()
    img.reset(seed=0)
    ref.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-1, 1, (60, 2))
    for a in actions:
        _, r1, t1, tr1, i1 = img.step(a)
        _, r2, t2, tr2, i2 = ref.step(a)
        assert i1["position"] == i2["position"] and (r1, t1, tr1) == (r2, t2, tr2)


def test_conv_run_resumes_to_the_uninterrupted_result(tmp_path):
    spec = TaskSpec("hardmaze-image", SMALL)
    task = spec.build()
    # 32x32 -> k8 s4 -> 7x7 -> k4 s2 -> 2x2 (x 8) -> 16 -> 2
    assert task.policy.n_params == (4 * 2 * 64 + 4) + (8 * 4 * 16 + 8) + (16 * 8 * 2 * 2 + 16) + (2 * 16 + 2)
    ga = GAConfig(population=6, truncation=2, sigma=0.05, novelty="ns", seed=6, elite_episodes=1,
                  elite_candidates=2, archive_prob=0.5)
    full = evolve(spec, ga, 3, EvolveStore(str(tmp_path / "full.db")), LocalEvaluator(spec)).records
    store = EvolveStore(str(tmp_path / "cut.db"))
    evolve(spec, ga, 2, store, LocalEvaluator(spec))
    store.close()  # as if killed after generation 2: a new process, a new worker, an empty cache
    resumed = evolve(spec, ga, 3, EvolveStore(str(tmp_path / "cut.db")), LocalEvaluator(spec))
    assert resumed.resumed_at == 2 and resumed.records == full
    elite = Genome.from_json(full[-1]["elite_seed_chain"])
    assert len(elite.mutations) >= 1  # an evolved conv net, rebuilt from its chain, replays its episode
    ep = task.episode(rebuild(elite, init_scales(task.policy)), 0)
    assert ep.ret == full[-1]["elite"]
    assert len({tuple(b) for b in full[-1]["behaviours"]}) > 1  # mutations change where the robot ends
