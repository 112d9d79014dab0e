"""Why a hard-maze run does or does not reach the goal: the novelty frontier and how its robots move.

Runs one GA-NS (or GA) run of the hard maze with the task defaults and records, per generation, the
frontier: the smallest route distance to the goal (shortest path of the radius-8 robot on a 1-unit
grid) among the population's final positions. For the 8 most advanced robots of the last generation
it replays the episode: path length, steps spent pressed against a wall (the move not taken), and
route distance at steps 100, 200, 300 and the end (still falling at the end: the robot ran out of
time, not out of maze).

    PYTHONPATH=src python benchmarks/evolve/maze_frontier.py --seed 102 --tag physics
"""

from __future__ import annotations

import argparse
import heapq
import math
from pathlib import Path

import numpy as np

from tailor.lab.meta import write_result

OUT = Path("benchmarks/results/evolve")


def route_distance_field() -> np.ndarray:
    """Shortest-path distance to the goal of every free 1-unit grid point (inf inside walls)."""
    from tailor.evolve import maze

    free = np.array([[not maze._collides(float(x), float(y), maze.WALLS, maze.RADIUS) for y in range(211)]
                     for x in range(201)])
    dist = np.full(free.shape, np.inf)
    goal = (round(maze.GOAL[0]), round(maze.GOAL[1]))
    dist[goal] = 0.0
    heap = [(0.0, goal)]
    steps = [(dx, dy, math.hypot(dx, dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]
    while heap:
        d, (x, y) = heapq.heappop(heap)
        if d > dist[x, y]:
            continue
        for dx, dy, c in steps:
            u, v = x + dx, y + dy
            if 0 <= u < 201 and 0 <= v < 211 and free[u, v] and d + c < dist[u, v]:
                dist[u, v] = d + c
                heapq.heappush(heap, (d + c, (u, v)))
    return dist


def along(field: np.ndarray, x: float, y: float) -> float:
    """Route distance at (x, y): the nearest finite grid value within 3 units."""
    xi, yi = round(x), round(y)
    window = field[max(0, xi - 3):xi + 4, max(0, yi - 3):yi + 4]
    return float(window.min()) if window.size else math.inf


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=102)
    ap.add_argument("--novelty", default="ns", choices=["ns", "off"])
    ap.add_argument("--generations", type=int, default=None)
    ap.add_argument("--sigma", type=float, default=None)
    ap.add_argument("--tag", default="frontier")
    ap.add_argument("--parents-survive", choices=("on", "off"), default=None, help="default: the task's (ns only)")
    args = ap.parse_args()

    from tailor.evolve import GAConfig, LocalEvaluator, TaskSpec, init_scales, initial_state, maze, rebuild, step

    field = route_distance_field()
    spec = TaskSpec("hardmaze")
    task = spec.build()
    d = task.defaults
    ga = GAConfig(population=d.population, truncation=d.truncation, sigma=args.sigma or d.sigma,
                  novelty=args.novelty, seed=args.seed, elite_episodes=1, archive_prob=d.archive_prob,
                  parents_survive=args.novelty == "ns" and (d.parents_survive if args.parents_survive is None
                                                            else args.parents_survive == "on"))
    state, evaluator, frontier, solved = initial_state(ga), LocalEvaluator(spec), [], False
    for _ in range(args.generations or d.generations):
        population = state.population
        state, record = step(ga, state, evaluator)
        near = np.array([along(field, x, y) for x, y in record["behaviours"]])
        frontier.append(float(near.min()))
        solved = record["elite"] >= d.solved_at
        if solved:
            break
    robots = []
    for i in np.argsort(near)[:8]:
        path = maze.rollout_mlp(rebuild(population[i], init_scales(task.policy)), task.policy.sizes, record=True)[4]
        moves = np.hypot(*np.diff(np.vstack([maze.START, path]), axis=0).T)
        at = [along(field, *path[min(t, len(path)) - 1]) for t in (100, 200, 300, maze.MAX_STEPS)]
        robots.append({"route_distance": float(near[i]), "steps": len(path), "path_length": float(moves.sum()),
                       "steps_against_wall": int((moves < 1e-9).sum()), "route_distance_at_100_200_300_end": at})
    start = along(field, *maze.START)
    print(f"route {start:.0f} units; frontier every 20 generations: {[round(f) for f in frontier[::20]]}; "
          f"last {frontier[-1]:.0f} after {len(frontier)} generations")
    for r in robots:
        print(f"  route distance {r['route_distance']:5.0f}  path {r['path_length']:4.0f}  against a wall "
              f"{r['steps_against_wall']:3d}/{r['steps']}  at 100/200/300/end "
              f"{[round(v) for v in r['route_distance_at_100_200_300_end']]}")
    write_result(OUT / f"maze_frontier_{args.tag}_s{args.seed}.json", {
        "seed": args.seed, "novelty": args.novelty,
        "motion": "direct (earlier robot)" if "MAX_TURN" in vars(maze) else "accelerating (original)",
        "sigma": ga.sigma, "route_length": start,
        "frontier": frontier, "generations": len(frontier), "reached": solved,
        "most_advanced": robots})


if __name__ == "__main__":
    main()
