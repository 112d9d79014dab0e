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
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tailor.errors import ConfigError

Item = tuple[str, str, int, int]  # tool, problem key (e.g. latency column), seed, budget
RunCallback = Callable[[dict], None]


def dynast_python(root: Path) -> Path:
    """DyNAS-T's interpreter: ``$DYNAST_VENV`` (default ``.venv-dynast``) under the checkout ``root``."""
    return Path(root) / os.environ.get("DYNAST_VENV", ".venv-dynast") / "bin" / "python"


def load(jsonl: Path) -> list[dict]:
    return [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()] if jsonl.exists() else []


def dynast_jsonl(jsonl: Path) -> Path:
    return jsonl.with_name(jsonl.stem + "_dynast.jsonl")


def _key(r: dict) -> Item:
    return r["tool"], r["key"], r["seed"], r["budget"]


def progress_line(r: dict) -> str:
    """One line per finished run, for a benchmark script to print."""
    return (f"{r['tool']:>20} {r['key']:>28} s{r['seed']} {r['evaluations']} evals "
            f"{1000 * r['overhead_s_per_eval']:.1f} ms/eval overhead")


def run_items(run_item: Callable[..., dict], items: Sequence[Item], jsonl: Path, jobs: int,
              extra: tuple = (), on_result: RunCallback | None = None) -> None:
    """Runs ``run_item(*extra, *item)`` for each item not yet in ``jsonl``, appending as each
    finishes (then ``on_result(run)``)."""
    done = {_key(r) for r in load(jsonl)}
    todo = [it for it in items if tuple(it) not in done]
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    with jsonl.open("a") as out:
        def write(r: dict) -> None:
            out.write(json.dumps(r) + "\n")
            out.flush()
            if on_result:
                on_result(r)

        if jobs <= 1:
            for it in todo:
                write(run_item(*extra, *it))
        elif todo:
            with ProcessPoolExecutor(jobs) as pool:
                for r in pool.map(run_item, *zip(*[(*extra, *it) for it in todo], strict=True)):
                    write(r)


def run_all(script: str, run_item: Callable[..., dict], items: Sequence[Item], jsonl: Path, jobs: int,
            worker: bool, worker_args: Sequence[str], extra: tuple = (), *, root: Path,
            on_result: RunCallback | None = None) -> list[dict]:
    """Our tools here, DyNAS-T's in its venv (``script --worker`` run by ``dynast_python(root)``);
    returns every finished run of both."""
    ours = [it for it in items if not it[0].startswith("dynast-")]
    theirs = [it for it in items if it[0].startswith("dynast-")]
    if worker:
        run_items(run_item, items, jsonl, jobs, extra, on_result)
        return load(jsonl)
    if theirs:
        python = dynast_python(root)
        if not python.exists():
            raise ConfigError("tools", f"DyNAS-T tools need {python.parent.parent}: "
                                       "run benchmarks/peers/install_dynast.sh first")
        tools = ",".join(dict.fromkeys(t for t, *_ in theirs))
        cmd = [str(python), script, "--worker", "--tools", tools, "--jobs", str(jobs),
               "--jsonl", str(dynast_jsonl(jsonl)), *worker_args]
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    if ours:
        run_items(run_item, ours, jsonl, jobs, extra, on_result)
    return load(jsonl) + load(dynast_jsonl(jsonl))


def trace_fields(trace) -> dict:
    return {"repeats": trace.repeats, "overhead_s_per_eval": trace.overhead_s_per_eval,
            "wall_s": trace.wall_s, "eval_s": trace.eval_s}


def run_tool(problem, tool: str, budget: int, seed: int):
    """One tool's trace on a tailor problem (DyNAS-T's only inside its venv)."""
    if tool.startswith("dynast-"):
        from tailor.lab.peers.dynast import run_dynast

        return run_dynast(problem, budget, seed, tool.removeprefix("dynast-"))
    from tailor.lab.peers.tools import TOOLS

    return TOOLS[tool](problem, budget, seed)
