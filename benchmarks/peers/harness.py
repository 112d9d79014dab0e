"""The run loop every peer benchmark shares: resumable JSON lines, worker processes, and DyNAS-T's venv.

A benchmark names its work items ``(tool, problem key, seed, budget)`` and a function that runs
one item and returns a JSON-able dict; the harness appends each finished run to a JSON-lines
file at once (a killed benchmark loses no finished run, and a rerun skips them), and sends the
``dynast-*`` items to a copy of the same script running in DyNAS-T's own virtual environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DYNAST_VENV = ROOT / os.environ.get("DYNAST_VENV", ".venv-dynast")

Item = tuple[str, str, int, int]  # tool, problem key (e.g. latency column), seed, budget


def load(jsonl: Path) -> list[dict]:
    return [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()] if jsonl.exists() else []


def dynast_jsonl(jsonl: Path) -> Path:
    return jsonl.with_name(jsonl.stem + "_dynast.jsonl")


def _key(r: dict) -> Item:
    return r["tool"], r["key"], r["seed"], r["budget"]


def run_items(run_item: Callable[..., dict], items: Sequence[Item], jsonl: Path, jobs: int,
              extra: tuple = ()) -> None:
    """Runs ``run_item(*extra, *item)`` for each item not yet in ``jsonl``, appending as each finishes."""
    done = {_key(r) for r in load(jsonl)}
    todo = [it for it in items if tuple(it) not in done]
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    with jsonl.open("a") as out:
        def write(r: dict) -> None:
            out.write(json.dumps(r) + "\n")
            out.flush()
            print(f"{r['tool']:>20} {r['key']:>28} s{r['seed']} {r['evaluations']} evals "
                  f"{1000 * r['overhead_s_per_eval']:.1f} ms/eval overhead", flush=True)

        if jobs <= 1:
            for it in todo:
                write(run_item(*extra, *it))
        else:
            with ProcessPoolExecutor(jobs) as pool:
                for r in pool.map(run_item, *zip(*[(*extra, *it) for it in todo], strict=True)):
                    write(r)


def run_all(script: str, run_item: Callable[..., dict], items: Sequence[Item], jsonl: Path, jobs: int,
            worker: bool, worker_args: Sequence[str], extra: tuple = ()) -> list[dict]:
    """Our tools here, DyNAS-T's in its venv; returns every finished run of both."""
    ours = [it for it in items if not it[0].startswith("dynast-")]
    theirs = [it for it in items if it[0].startswith("dynast-")]
    if worker:
        run_items(run_item, items, jsonl, jobs, extra)
        return load(jsonl)
    if theirs:
        python = DYNAST_VENV / "bin" / "python"
        if not python.exists():
            sys.exit(f"DyNAS-T tools need {DYNAST_VENV}: run benchmarks/peers/install_dynast.sh first")
        tools = ",".join(dict.fromkeys(t for t, *_ in theirs))
        cmd = [str(python), script, "--worker", "--tools", tools, "--jobs", str(jobs),
               "--jsonl", str(dynast_jsonl(jsonl)), *worker_args]
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    if ours:
        run_items(run_item, ours, jsonl, jobs, extra)
    return load(jsonl) + load(dynast_jsonl(jsonl))


def trace_fields(trace) -> dict:
    return {"repeats": trace.repeats, "overhead_s_per_eval": trace.overhead_s_per_eval,
            "wall_s": trace.wall_s, "eval_s": trace.eval_s}


def run_tool(problem, tool: str, budget: int, seed: int):
    """One tool's trace on a tailor problem (DyNAS-T's only inside its venv)."""
    if tool.startswith("dynast-"):
        from dynast_tools import run_dynast

        return run_dynast(problem, budget, seed, tool.removeprefix("dynast-"))
    from tools import TOOLS

    return TOOLS[tool](problem, budget, seed)
