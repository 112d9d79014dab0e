"""`tailor export STUDY (--pick knee|NUMBER|KEY | --max-latency MS) --out DIR [--no-verify]`.

The study's problem is rebuilt from its stored spec (super-network checkpoint, data split,
calibration batches, latency settings), so the exported sub-network carries the same re-calibrated
batch-norm statistics the study scored, and ``verify.json`` re-measures it.
"""

from __future__ import annotations

from pathlib import Path

import typer

from tailor.cli._console import out as stdout
from tailor.cli._console import print_verification, writable_dir


def export(
    study: str = typer.Argument(..., help="Study file (SQLite) or SQLAlchemy URL."),
    name: str = typer.Option(None, "--name", help="Study name, if the store holds several."),
    pick: str = typer.Option(None, "--pick", help="'knee', a trial number or a configuration key."),
    max_latency: float = typer.Option(None, "--max-latency", help="The best trial with latency_ms <= MS."),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    verify: bool = typer.Option(True, "--verify/--no-verify",
                                help="Re-measure the export (accuracy, latency) into verify.json."),
) -> None:
    """Write the chosen sub-network as a state dict, config JSON and ONNX, then verify it.

    A re-measured accuracy that differs from the study's is an error (exit 2); a latency
    more than 10 % off is a warning.
    """
    from tailor.export import export_and_verify, rebuild_study_problem
    from tailor.results import check_pick, objectives_of, pick_trial
    from tailor.store import COMPLETE, open_existing_store

    check_pick(pick, max_latency)
    store = open_existing_store(study)
    record = store.load_study(name)
    chosen = pick_trial(store.trials(record.id, [COMPLETE]), objectives_of(record.settings), pick, max_latency)
    problem = rebuild_study_problem(record.settings)
    out = writable_dir("out", out)
    meta = {"supernet": problem.settings.get("supernet"), "supernet_kwargs": problem.settings.get("supernet_kwargs"),
            "problem": problem.spec.to_dict(), "study": store.where, "trial_id": str(chosen.number),
            "metrics": chosen.metrics}
    paths, verification = export_and_verify(problem.supernet, chosen.config, out, problem.evaluators, meta,
                                            chosen.metrics, verify)
    if verification is not None:
        print_verification(verification, out, strict=True)
    for p in (paths.state_dict, paths.config, paths.onnx):
        stdout.print(str(p), markup=False, highlight=False, soft_wrap=True)
