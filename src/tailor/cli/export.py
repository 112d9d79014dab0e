"""`tailor export STUDY --pick knee|ID | --max-latency MS --out DIR`."""

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
                Path(checkpoint) if checkpoint else None, chosen.metrics, str(chosen.number))


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
    ) -> None:
        """Write the chosen sub-network as a state dict, config JSON and ONNX."""
        from rich.console import Console

        from tailor.export import export_subnet
        from tailor.supernets import create_supernet

        if (pick is None) == (max_latency is None):
            raise ConfigError("pick", "give exactly one of --pick and --max-latency",
                              ["knee", "<trial id>", "--max-latency MS"])
        chosen = _load_pick(study, pick, max_latency)
        model = create_supernet(chosen.supernet, **chosen.supernet_kwargs)
        if chosen.checkpoint is not None:
            _load_checkpoint(model, chosen.checkpoint)
        meta = {"supernet": chosen.supernet, "supernet_kwargs": chosen.supernet_kwargs,
                "study": study, "trial_id": chosen.trial_id, "metrics": chosen.metrics}
        paths = export_subnet(model, chosen.config, out, metadata=meta)
        console = Console()
        for p in (paths.state_dict, paths.config, paths.onnx):
            console.print(str(p), markup=False, highlight=False)
