"""Bad input to the MiniLM commands: each must end in one `tailor: error:` line and exit code 2.

Cases: an unknown ``-o weights=...``; a corrupt trained-weights file given by path; the *shipped*
weights file corrupt (simulated by pointing ``TRAINED_WEIGHTS`` at a corrupt copy, the shipped file
itself is not touched); a ``--data`` folder with no text; a binary ``--data`` file.
Writes benchmarks/results/minilm/distill/minilm_error_cases.json.

Run: PYTHONPATH=src python benchmarks/transformer/minilm_error_cases.py
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

from tailor.cli import main
from tailor.supernets import transformer

OUT = Path(__file__).resolve().parents[1] / "results" / "minilm" / "distill" / "minilm_error_cases.json"


def run(args: list[str]) -> dict:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(args)
    lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
    return {"command": "tailor " + " ".join(args), "exit": code, "stderr_lines": len(lines),
            "message": lines[-1] if lines else ""}


def main_() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        corrupt = t / "corrupt.safetensors"
        corrupt.write_bytes(b'{"not": "safetensors"}' * 10)
        empty = t / "texts"
        empty.mkdir()
        (empty / "notes.txt").write_text("\n\n   \n")
        binary = t / "data.bin"
        binary.write_bytes(bytes(range(256)) * 8)
        out = str(t / "out")
        rows.append({"case": "unknown -o weights",
                     **run(["search", "-o", "weights=best", "--budget", "1", "--out", out])})
        rows.append({"case": "corrupt weights file (path)",
                     **run(["search", "-o", f"weights={corrupt}", "--budget", "1", "--out", out])})
        shipped = transformer.TRAINED_WEIGHTS
        transformer.TRAINED_WEIGHTS = corrupt
        try:
            rows.append({"case": "corrupt shipped weights (simulated)",
                         **run(["search", "--budget", "1", "--out", out])})
        finally:
            transformer.TRAINED_WEIGHTS = shipped
        rows.append({"case": "--data folder with no text",
                     **run(["train", "--supernet", "transformer", "--data", str(empty), "--out", out])})
        rows.append({"case": "--data binary file",
                     **run(["train", "--supernet", "transformer", "--data", str(binary), "--out", out])})
        for r in rows:
            r["message"] = r["message"].replace(tmp, "$TMP")
            r["command"] = r["command"].replace(tmp, "$TMP")
    for r in rows:
        print(f"{r['case']:38s} exit {r['exit']}  {r['message']}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main_()
