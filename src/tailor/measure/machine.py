"""A fingerprint of this machine and runtime, so cached latencies are never reused elsewhere."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
from pathlib import Path


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="ignore").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


@functools.lru_cache(maxsize=1)
def machine_info() -> dict[str, str]:
    """What latency depends on besides the model: CPU, OS, core count, runtime versions."""
    import torch

    try:
        import onnxruntime

        ort_version = onnxruntime.__version__
    except ImportError:  # optional backend
        ort_version = "none"
    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": str(os.cpu_count()),
        "torch": torch.__version__,
        "onnxruntime": ort_version,
    }


def machine_fingerprint() -> str:
    """Short stable hash of ``machine_info()``."""
    blob = json.dumps(machine_info(), sort_keys=True).encode()
    return hashlib.sha1(blob).hexdigest()[:16]
