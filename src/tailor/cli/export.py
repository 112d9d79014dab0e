"""`tailor export STUDY --pick knee|ID | --max-latency MS --out DIR [--no-verify]`.

The study's problem is rebuilt from its settings (the super-network checkpoint, its data split
and calibration batches, the latency settings), so the exported sub-network carries the same
re-calibrated batch-norm statistics the study scored, and ``verify.json`` re-measures it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from tailor.errors import ConfigError


@dataclass(frozen=True)
class Pick:
    """What the export needs from a study: which super-network, its weights, and the config."""

    supernet: str
    config: dict[str, Any]
    supernet_kwargs: dict[str, Any] = field(default_factory=dict)
    checkpoint: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    trial_id: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def _load_pick(study: str, pick: str | None, max_latency: float | None) -> Pick:
    """Read ``study`` and choose one trial: the knee, a trial number or key, or the most accurate
    trial with ``latency_ms <= max_latency``."""
    from tailor.results import front, knee, objectives_of
    from tailor.store import COMPLETE, open_store

    if "://" not in study and not Path(study).is_file():
        raise ConfigError("study", f"file not found: {study}")
    store = open_store(study)
    record = store.load_study()
    settings = record.settings
    if "supernet" not in settings:
        raise ConfigError("study", f"searched problem {settings.get('problem')!r}, not a super-network: "
                          "nothing to export")
    objectives = objectives_of(settings)
    trials = store.trials(record.id, [COMPLETE])
    if not trials:
        raise ConfigError("study", "has no completed evaluation")
    if max_latency is not None:
        fitting = [t for t in trials if t.metrics.get("latency_ms", float("inf")) <= max_latency]
        if not fitting:
            fastest = min(t.metrics.get("latency_ms", float("inf")) for t in trials)
            raise ConfigError("max_latency", f"no trial is that fast (fastest: {fastest:.3g} ms)")
        accuracy = next(o for o in objectives if o.name != "latency_ms")
        chosen = max(fitting, key=lambda t: -accuracy.sign * t.metrics[accuracy.name])
    elif pick == "knee":
        chosen = knee(front(trials, objectives), objectives)
    else:
        found = [t for t in trials if str(t.number) == pick or t.key == pick]
        if not found:
            raise ConfigError("pick", f"no completed trial with number or key {pick!r}", ["knee", "<number>", "<key>"])
        chosen = found[0]
    checkpoint = settings.get("checkpoint")
    return Pick(settings["supernet"], chosen.config, dict(settings.get("supernet_kwargs", {})),
                Path(checkpoint) if checkpoint else None, chosen.metrics, str(chosen.number), dict(settings))


def _rebuild_problem(settings: dict[str, Any]) -> Any:
    """The study's ``Problem`` (super-network with weights, evaluators with their data and
    settings), or ``None`` for a problem this command cannot rebuild."""
    kind = settings.get("problem")
    backend, threads = settings.get("backend", "onnxruntime"), int(settings.get("threads", 1))
    if kind == "minilm":
        from tailor.problems.supernet import minilm_problem

        return minilm_problem(backend=backend, threads=threads)
    if kind != "supernet" or not settings.get("checkpoint"):
        return None
    from tailor.problems.supernet import supernet_problem
    from tailor.train import TrainConfig, load_checkpoint

    path = Path(settings["checkpoint"])
    state = load_checkpoint(path)
    cfg = TrainConfig.from_dict(state["config"])
    if int(state["epoch"]) < cfg.epochs:
        raise ConfigError("checkpoint", f"{path} stopped at epoch {state['epoch']} of {cfg.epochs}; "
                          "rerun the search to finish training")
    try:
        problem = supernet_problem(cfg.supernet, cfg.data, train_dir=path.parent, epochs=cfg.epochs,
                                   sampler=cfg.sampler, backend=backend, threads=threads, seed=cfg.seed)
    except ConfigError as e:
        raise ConfigError("checkpoint", f"cannot rebuild the study's problem from {path}: {e}") from None
    if problem.settings.get("supernet_kwargs") != settings.get("supernet_kwargs"):
        raise ConfigError("checkpoint", f"{path} no longer matches the study's super-network settings")
    return problem


def export_and_report(supernet: Any, evaluators: Any, config: dict[str, Any], out: Path,
                      metadata: dict[str, Any], metrics: dict[str, float] | None, verify: bool = True,
                      strict: bool = True) -> Any:
    """Export (and verify) one sub-network, print the verification table and its verdict.

    ``strict``: a quality mismatch raises ``ConfigError`` (exit 2, after the files are written);
    otherwise it is printed as a warning. A latency outside the tolerance is always a warning.
    """
    from tailor.cli import console
    from tailor.cli._common import print_table
    from tailor.export import LATENCY_TOLERANCE, VERIFY_NAME, export_and_verify

    paths, result = export_and_verify(supernet, config, out, evaluators, metadata, metrics, verify)
    if result is None:
        return paths
    rows = [{"check": c.metric, "study": c.study, "exported": c.exported, "ratio": c.ratio,
             "measured on": c.measured_on, "rule": c.rule,
             "status": "ok" if c.ok else ("MISMATCH" if c.severity == "error" else "warning")}
            for c in result.checks]
    print_table(f"verification ({out / VERIFY_NAME})", rows,
                ["check", "study", "exported", "ratio", "measured on", "rule", "status"])
    for c in result.warnings:
        console.print(f"warning: {c.metric} re-measured {c.exported:.4g} vs {c.study:.4g} in the study "
                      f"(outside {LATENCY_TOLERANCE:.0%}); latency is noisy on a busy machine",
                      markup=False, highlight=False, soft_wrap=True)
    if result.errors:
        c = result.errors[0]
        why = (f"the exported model measures {c.metric}={c.exported:.6g} but the study recorded {c.study} "
               f"(rule: {c.rule}; see {out / VERIFY_NAME})")
        if strict:
            raise ConfigError("verify", why)
        console.print(f"warning: verify: {why}", markup=False, highlight=False, soft_wrap=True)
    return paths


def _load_checkpoint(model: Any, path: Path) -> None:
    import torch

    if not path.is_file():
        raise ConfigError("checkpoint", f"file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "model" in state:
            state = state["model"]
        model.load_state_dict(state)
    except Exception as e:  # a corrupt or mismatched checkpoint is a user error: one line
        raise ConfigError("checkpoint", f"cannot load {path}: {type(e).__name__}") from None


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_cmd(
        study: str = typer.Argument(..., help="Study name or URL."),
        pick: str = typer.Option(None, "--pick", help="'knee' or a trial id."),
        max_latency: float = typer.Option(None, "--max-latency", help="Best trial under MS."),
        out: Path = typer.Option(..., "--out", help="Output directory."),
        verify: bool = typer.Option(True, "--verify/--no-verify",
                                    help="Re-measure the export (accuracy, latency) into verify.json."),
    ) -> None:
        """Write the chosen sub-network as a state dict, config JSON and ONNX, then verify it.

        A re-measured accuracy that differs from the study's is an error (exit 2); a latency
        more than 10 % off is a warning.
        """
        from rich.console import Console

        from tailor.cli import console as err_console
        from tailor.supernets import create_supernet

        if (pick is None) == (max_latency is None):
            raise ConfigError("pick", "give exactly one of --pick and --max-latency",
                              ["knee", "<trial id>", "--max-latency MS"])
        chosen = _load_pick(study, pick, max_latency)
        # MiniLM needs its problem (corpus, reference neighbours) only to verify; CNNs also to calibrate BN
        needed = verify or chosen.settings.get("problem") != "minilm"
        problem = _rebuild_problem(chosen.settings) if needed else None
        if problem is not None:
            model, evaluators = problem.supernet, problem.evaluators
        else:
            if needed:
                err_console.print(f"note: cannot rebuild problem {chosen.settings.get('problem')!r}: exporting "
                                  "the sub-network without BN re-calibration and verification", markup=False)
            model, evaluators = create_supernet(chosen.supernet, **chosen.supernet_kwargs), []
            if chosen.checkpoint is not None:
                _load_checkpoint(model, chosen.checkpoint)
        meta = {"supernet": chosen.supernet, "supernet_kwargs": chosen.supernet_kwargs,
                "study": study, "trial_id": chosen.trial_id, "metrics": chosen.metrics}
        paths = export_and_report(model, evaluators, chosen.config, out, meta, chosen.metrics,
                                  verify=verify and problem is not None)
        console = Console()
        for p in (paths.state_dict, paths.config, paths.onnx):
            console.print(str(p), markup=False, highlight=False)
