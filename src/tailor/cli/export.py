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


# ---------------------------------------------------------------- TODO(lead): wire to tailor.store
def _load_pick(study: str, pick: str | None, max_latency: float | None) -> Pick:
    """Read ``study`` and choose one trial: the knee, a trial id, or the most accurate trial
    with ``latency_ms <= max_latency``. To be wired to ``tailor.store`` by the store's owner.
    """
    raise ConfigError("study", "reading studies for export is not wired to the store yet")
# ----------------------------------------------------------------------------------------------


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
