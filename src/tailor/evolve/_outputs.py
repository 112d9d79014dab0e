"""What a finished run writes: results.json, the fitness curve, the maze trajectories, the elite
policy (state dict, ONNX, seed chain)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tailor.evolve._genome import Genome, rebuild
from tailor.evolve._policy import init_scales, to_module
from tailor.evolve._tasks import Task, TrajectoryTask


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def results_json(out: Path, config: dict[str, Any], records: list[dict[str, Any]], task: Task,
                 extra: dict[str, Any]) -> Path:
    elite = Genome.from_json(records[-1]["elite_seed_chain"])
    n_params = task.policy.n_params
    doc = {
        "config": config,
        "generations": [{k: r[k] for k in ("generation", "best", "mean", "elite", "evaluations", "frames",
                                           "reached")} for r in records],
        "elite": {"return": records[-1]["elite"], "seed_chain": elite.to_json(),
                  "genome_bytes": elite.nbytes, "dense_bytes": 4 * n_params, "params": n_params,
                  "compression": 4 * n_params / elite.nbytes},
        "evaluations": int(sum(r["evaluations"] for r in records)),
        "frames": int(sum(r["frames"] for r in records)),
        **extra,
    }
    path = out / "results.json"
    _atomic_write(path, json.dumps(doc, indent=1))
    return path


def fitness_plot(out: Path, records: list[dict[str, Any]], title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = [r["generation"] for r in records]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(g, [r["best"] for r in records], label="best (1 episode)")
    ax.plot(g, [r["mean"] for r in records], label="population mean")
    ax.plot(g, [r["elite"] for r in records], label="elite (re-evaluated)", lw=2)
    ax.set_xlabel("generation")
    ax.set_ylabel("return")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    path = out / "fitness.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def maze_plot(out: Path, records: list[dict[str, Any]], task: TrajectoryTask, elite_theta: np.ndarray,
              title: str, name: str = "maze_trajectories.png") -> Path:
    """Final positions of every evaluated individual (colour = generation) and the elite's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tailor.evolve import maze

    fig, ax = plt.subplots(figsize=(5, 5))
    for x1, y1, x2, y2 in maze.WALLS:
        ax.plot([x1, x2], [y1, y2], "k-", lw=2)
    pts = [(b[0], b[1], r["generation"]) for r in records for b in r["behaviours"]]
    if pts:
        p = np.array(pts)
        ax.scatter(p[:, 0], p[:, 1], c=p[:, 2], s=3, cmap="viridis", alpha=0.5)
    traj = task.trajectory(elite_theta, 0)
    ax.plot(traj[:, 0], traj[:, 1], "r-", lw=1.5, label="elite")
    ax.plot(*maze.START, "bs", label="start")
    ax.plot(*maze.GOAL, "g*", ms=14, label="goal")
    ax.set_xlim(0, 200)
    ax.set_ylim(210, -5)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    path = out / name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def export_policy(out: Path, task: Task, genome: Genome) -> dict[str, Path]:
    """The elite as a torch state dict, an ONNX file and its seed chain (JSON)."""
    from tailor.measure.onnx_io import export_onnx

    theta = rebuild(genome, init_scales(task.policy))
    module = to_module(task.policy, theta).eval()
    folder = out / "policy"
    folder.mkdir(parents=True, exist_ok=True)
    pt = folder / "policy.pt"
    torch.save(module.state_dict(), pt)
    onnx_path = folder / "policy.onnx"
    export_onnx(module, (torch.zeros(1, *task.policy.input_shape),), onnx_path, input_names=["obs"])
    chain = folder / "seed_chain.json"
    _atomic_write(chain, json.dumps({"task": task.name, "policy": task.policy.to_json(),
        "genome": genome.to_json(), "genome_bytes": genome.nbytes, "dense_bytes": 4 * task.policy.n_params},
        indent=1))
    return {"pt": pt, "onnx": onnx_path, "seed_chain": chain}
