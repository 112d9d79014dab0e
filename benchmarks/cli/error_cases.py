"""The user-error cases of issue #16, run against a tailor source tree: exit code and what stderr says.

    python benchmarks/cli/error_cases.py --src src --label after --json out.json

Run it once against an older checkout's ``src`` (``--label before``) and once against this one;
``--table before.json after.json`` prints the markdown table docs/errors.md shows.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TABLE = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks" / "nb201" / "nb201_cifar10_latency.csv"


def cases(tmp: Path) -> list[tuple[str, list[str]]]:
    a_file = tmp / "file"
    a_file.write_text("x")
    garbage = tmp / "garbage.db"
    garbage.write_bytes(os.urandom(4096))
    nb = ["search", "nb201", "--table", str(TABLE), "--tactic", "random", "--budget", "5"]
    study = str(tmp / "ok" / "study.db")
    return [
        ("bad number", [*nb, "--budget", "abc"]),
        ("unknown command", ["serach"]),
        ("unknown option", ["search", "--budgt", "3"]),
        ("no command", []),
        ("bad epochs", ["train", "--epochs", "0"]),
        ("negative seed", [*nb, "--seed", "-1", "--out", str(tmp / "s")]),
        ("empty study name", [*nb, "--name", "", "--out", str(tmp / "n")]),
        ("--out under a file", [*nb, "--out", str(a_file / "sub")]),
        ("--out is a file", [*nb, "--out", str(a_file)]),
        ("--study under a file", [*nb, "--out", str(tmp / "o"), "--study", str(a_file / "s.db")]),
        ("300-character study file name", [*nb, "--out", str(tmp / "o2"), "--study", str(tmp / ("s" * 300))]),
        ("report --json under a file", ["report", study, "--json", str(a_file / "r.json")]),
        ("export --out under a file (table study)", ["export", study, "--pick", "knee", "--out", str(a_file / "e")]),
        ("report on a non-database file", ["report", str(garbage)]),
        ("Ctrl-C during a search", [*nb[:-1], "300", "--tactic", "default", "--out", str(tmp / "c")]),
    ]


def run_case(src: str, name: str, args: list[str], tmp: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve()), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "tailor", *args]
    if name.startswith("Ctrl-C"):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                start_new_session=True, cwd=tmp)
        time.sleep(8)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        rc = proc.returncode
    else:
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp)
        rc, err = res.returncode, res.stderr
    lines = [ln for ln in err.strip().splitlines() if ln.strip() and not set(ln.strip()) <= set("━─┃│┏┓┗┛┡┩└┘┴┬╇┼ ")]
    traceback = any(ln.startswith("Traceback") for ln in lines)
    last = lines[-1] if lines else ""
    shown = next((ln for ln in reversed(lines) if "Error" in ln), last) if traceback else last
    return {"case": name, "command": "tailor " + " ".join(a if len(a) < 40 else a[:12] + "..." for a in args),
            "exit": rc, "stderr_lines": len(err.strip().splitlines()), "traceback": traceback,
            "message": shown.strip()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", help="tailor source tree to run (its src/ folder)")
    ap.add_argument("--label", default="after")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--table", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = ap.parse_args()
    if args.table:
        before, after = (json.loads(p.read_text())["cases"] for p in args.table)
        print("| case | before: exit, stderr | after: exit, stderr |\n| --- | --- | --- |")
        for b, a in zip(before, after, strict=True):
            def cell(r: dict) -> str:
                what = f"traceback ({r['stderr_lines']} lines): {r['message']}" if r["traceback"] else r["message"]
                return f"{r['exit']}, `{what[:110]}`" if what else f"{r['exit']}, (nothing)"
            print(f"| {a['case']} | {cell(b)} | {cell(a)} |")
        return
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        subprocess.run([sys.executable, "-m", "tailor", "search", "nb201", "--table", str(TABLE), "--tactic", "random",
                        "--budget", "5", "--out", str(tmp / "ok")], env={**os.environ, "PYTHONPATH": args.src},
                       capture_output=True, check=True, cwd=tmp)
        results = [run_case(args.src, n, a, tmp) for n, a in cases(tmp)]
    from tailor.lab.meta import run_metadata  # noqa: PLC0415 (recorded with the results)

    data = {"meta": run_metadata(sys.argv), "label": args.label, "cases": results}
    for r in results:
        print(f"{r['exit']:>4}  {r['case']:40} {r['message'][:100]}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=1))


if __name__ == "__main__":
    main()
