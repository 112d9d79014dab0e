"""`tailor train`: train a super-network (sandwich rule by default; SPOS, FairNAS or PA&DA)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tailor.cli._console import progress, say, writable_dir
from tailor.errors import ConfigError

SAMPLER_HELP = (
    "sandwich (largest+smallest+random, in-place distillation), spos (uniform single "
    "path), fairnas (each op once per step), padad (PA&DA path+data importance)"
)


def _default_supernet(data: str) -> str:
    """nb201_cell for the 8x8 digits (an ImageNet-sized family would upsample them 28x and
    crawl on a CPU); mobilenetv3 for image folders when that family is installed."""
    from tailor.supernets import list_supernets

    if data != "digits" and "mobilenetv3" in list_supernets():
        return "mobilenetv3"
    return "nb201_cell"


def _parse_kwargs(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError("supernet-args", f"not valid JSON: {e.msg}") from None
    if not isinstance(value, dict):
        raise ConfigError("supernet-args", "must be a JSON object, e.g. '{\"channels\": 16}'")
    return value


def train(
    supernet: str = typer.Option(
        None, "--supernet", help="Registered family (default: nb201_cell on digits, mobilenetv3 on image folders)."),
    supernet_args: str = typer.Option(None, "--supernet-args", help="Family sizes as JSON, e.g. '{\"channels\": 16}'."),
    data: str = typer.Option("digits", "--data", help="'digits' (built in) or an image folder."),
    sampler: str = typer.Option("sandwich", "--sampler", help=SAMPLER_HELP),
    epochs: int = typer.Option(10, "--epochs", help="Training epochs (>= 1)."),
    batch_size: int = typer.Option(64, "--batch-size", help="Examples per step (>= 1)."),
    lr: float = typer.Option(0.05, "--lr", help="Peak learning rate (> 0)."),
    optimizer: str = typer.Option("sgd", "--optimizer", help="sgd (Nesterov), adamw, galore or fira (low-rank "
                                  "optimizer state, tailor.optim)."),
    rank: int = typer.Option(None, "--rank", help="galore / fira: subspace rank R."),
    seed: int = typer.Option(0, "--seed", help="Seeds weights, data order, paths and the split (>= 0)."),
    image_size: int = typer.Option(32, "--image-size", help="Image folders are resized to it."),
    importance_weights: bool = typer.Option(
        False, "--importance-weights/--no-importance-weights", help="padad: weight losses by 1/(N p)."),
    out: Path = typer.Option(Path("runs/train"), "--out", help="Checkpoint folder."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue from OUT/last.pt if it exists."),
) -> None:
    """Train a super-network; checkpoints OUT/last.pt after every epoch."""
    from tailor.train import Trainer, TrainSpec

    config = TrainSpec(
        supernet=supernet or _default_supernet(data), supernet_kwargs=_parse_kwargs(supernet_args), data=data,
        image_size=image_size, sampler=sampler, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
        importance_weights=importance_weights, optimizer=optimizer, rank=rank,
    )
    trainer = Trainer(config, writable_dir("out", out))
    with progress(transient=True) as bar:
        task = bar.add_task(f"epoch 1/{epochs}", total=trainer.steps_per_epoch, status="")

        def on_step(epoch: int, step: int, steps: int, loss: float) -> None:
            bar.update(task, completed=step, description=f"epoch {epoch + 1}/{epochs}", status=f"loss {loss:.3f}")

        def on_epoch(record: dict) -> None:
            rss = record["peak_rss_bytes"]
            say(f"epoch {record['epoch']}/{epochs}  loss {record['loss']:.4f}  "
                f"largest val acc {record['val_acc_largest']:.4f}  {record['step_seconds'] * 1000:.1f} ms/step  "
                f"optimizer state {record['optimizer_state_bytes'] / 2**20:.2f} MiB"
                + (f"  peak RSS {rss / 2**20:.0f} MiB" if rss else ""))
            bar.reset(task, total=trainer.steps_per_epoch)

        result = trainer.run(resume=resume, on_step=on_step, on_epoch=on_epoch)
    if result.resumed_from_epoch is not None:
        say(f"resumed at epoch {result.resumed_from_epoch}")
    say(f"trained {config.supernet} with {config.sampler}: {result.epochs_done} epochs, {result.steps} steps; "
        f"checkpoint {result.checkpoint}")
