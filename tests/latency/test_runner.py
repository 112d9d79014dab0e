"""The exported folder profiles a device that has no tailor: run_profile.py + onnxruntime + numpy."""

import json
import os
import subprocess
import sys

import pytest

from tailor.latency_table import LatencyTable, TableLatencyEvaluator, block_family
from tailor.latency_table.profile import RUNNER_NAME, export_for_profiling


def test_standalone_runner_writes_a_valid_table(tiny_mbv3, tmp_path):
    out_dir = tmp_path / "export"
    manifest = export_for_profiling(tiny_mbv3, block_family("mobilenetv3", tiny_mbv3), out_dir, n_calibration=4)
    assert len(manifest["blocks"]) == 10 and len(list((out_dir / "blocks").glob("*.onnx"))) == 10
    runner = (out_dir / RUNNER_NAME).read_text()
    assert "import tailor" not in runner and "from tailor" not in runner and "import torch" not in runner
    device = tmp_path / "device"
    device.mkdir()
    # -I: isolated mode (no PYTHONPATH, no script dir tricks), run from elsewhere, as on a device
    done = subprocess.run([sys.executable, "-I", str(out_dir / RUNNER_NAME), str(out_dir), "--threads", "1",
                           "--rounds", "2", "--repeats", "3", "--out", str(device / "dev.json")],
                          cwd=device, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    table = LatencyTable.load(device / "dev.json")
    assert table.threads == 1 and set(table.data["entries"]) == {b["key"] for b in manifest["blocks"]}
    assert json.loads((device / "dev.json").read_text())["machine"]["onnxruntime"]
    ev = TableLatencyEvaluator(tiny_mbv3, "mobilenetv3", table)
    assert ev.evaluate([tiny_mbv3.space().extreme("max")])[0]["latency_ms"] > 0
    bad = subprocess.run([sys.executable, "-I", str(out_dir / RUNNER_NAME), str(out_dir), "--threads", "0",
                          "--out", "x.json"], cwd=device, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "threads" in bad.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CPU affinity is Linux-only")
def test_pinned_holds_the_thread_on_its_cpus_while_timing_and_restores_after():
    from tailor.latency_table.runner import pinned
    from tailor.measure.latency import time_calls

    before = os.sched_getaffinity(0)
    seen: list[set[int]] = []
    with pinned(1):
        inside = os.sched_getaffinity(0)
    time_calls(lambda: seen.append(os.sched_getaffinity(0)), warmup=1, repeats=3)
    assert len(inside) == 1 and inside <= before
    assert all(s == seen[0] and len(s) == 1 for s in seen) and len(seen) == 4
    assert os.sched_getaffinity(0) == before
    with pinned(len(before) + 5):  # more CPUs than allowed: all of them
        assert os.sched_getaffinity(0) == before
