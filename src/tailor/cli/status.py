"""`tailor status`: who works on a study now, and who did what (per process and per worker)."""

from __future__ import annotations

import time
from collections import defaultdict

import typer

from tailor.cli._console import print_table, say


def status(
    study: str = typer.Argument(..., help="Study file (SQLite) or SQLAlchemy URL (postgresql://...)."),
    name: str = typer.Option(None, "--name", help="Study name, if the store holds several."),
) -> None:
    """Finished, running (with lease age) and failed evaluations of a study, per process and worker."""
    from tailor.store import COMPLETE, FAIL, STATES, WAITING, open_existing_store

    store = open_existing_store(study)
    record = store.load_study(name)
    trials = store.trials(record.id, STATES)
    now = time.time()
    running = [t for t in trials if t.state == WAITING and t.owner and (t.lease_until or 0) >= now]
    stale = [t for t in trials if t.state == WAITING and t.owner and (t.lease_until or 0) < now]
    count = {s: sum(t.state == s for t in trials) for s in STATES}
    say(f"study {record.name!r} in {store.where}: {count[COMPLETE]} finished, {count[FAIL]} failed, "
        f"{len(running)} running, {len(stale)} with an expired lease, "
        f"{count[WAITING] - len(running) - len(stale)} waiting")
    per: dict[tuple[str, str], dict] = defaultdict(lambda: {"finished": 0, "failed": 0, "running": 0, "seconds": 0.0})
    for t in trials:
        if t.state == WAITING and t.owner:
            per[(t.owner, "-")]["running"] += 1
        elif t.state in (COMPLETE, FAIL):
            row = per[(t.owner or "(before leases)", t.worker or "-")]
            row["finished" if t.state == COMPLETE else "failed"] += 1
            row["seconds"] += t.duration_s or 0.0
    rows = [{"process": p, "worker": w, **v, "seconds": round(v["seconds"], 2)} for (p, w), v in sorted(per.items())]
    print_table("per process and worker", rows, ["process", "worker", "finished", "failed", "running", "seconds"])
    if running or stale:
        print_table("claimed evaluations", [
            {"trial": t.number, "batch": t.batch, "process": t.owner,
             "claimed s ago": round(now - (t.claimed or now), 1),
             "lease": f"{t.lease_until - now:.1f} s left" if t.lease_until >= now else
                      f"expired {now - t.lease_until:.1f} s ago"}
            for t in sorted([*running, *stale], key=lambda t: t.number)
        ], ["trial", "batch", "process", "claimed s ago", "lease"])
