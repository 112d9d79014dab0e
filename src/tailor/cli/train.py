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


def _parse_kwargs(text: str | None, field: str = "supernet-args") -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(field, f"not valid JSON: {e.msg}") from None
    if not isinstance(value, dict):
        raise ConfigError(field, "must be a JSON object, e.g. '{\"channels\": 16}'")
    return value


def train(
    supernet: str = typer.Option(
        None, "--supernet", help="Registered family (default: nb201_cell on digits, mobilenetv3 on image folders)."),
    supernet_args: str = typer.Option(None, "--supernet-args", help="Family sizes as JSON, e.g. '{\"channels\": 16}'."),
    data: str = typer.Option("digits", "--data", help="'digits' (built in) or an image folder; transformer: "
                             "text FILE|DIR (one sentence per line, .txt files) added to the built-in corpus."),
    sampler: str = typer.Option("sandwich", "--sampler", help=SAMPLER_HELP),
    epochs: int = typer.Option(10, "--epochs", help="Training epochs (>= 1)."),
    steps: int = typer.Option(None, "--steps", help="transformer: optimiser steps (default 600)."),
    batch_size: int = typer.Option(None, "--batch-size", help="Examples per step (>= 1; 64, transformer 32)."),
    lr: float = typer.Option(None, "--lr", help="Peak learning rate (> 0; 0.05, transformer 1e-4)."),
    optimizer: str = typer.Option(None, "--optimizer", help="sgd (Nesterov; the CNN default), adamw (the "
                                  "transformer default), galore or fira (low-rank optimizer state, tailor.optim)."),
    rank: int = typer.Option(None, "--rank", help="galore / fira: subspace rank R."),
    distill_args: str = typer.Option(None, "--distill-args", help="transformer: other DistillConfig settings as "
                                     "JSON, e.g. '{\"w_largest\": 20}'."),
    seed: int = typer.Option(0, "--seed", help="Seeds weights, data order, paths and the split (>= 0)."),
    image_size: int = typer.Option(32, "--image-size", help="Image folders are resized to it."),
    importance_weights: bool = typer.Option(
        False, "--importance-weights/--no-importance-weights", help="padad: weight losses by 1/(N p)."),
    out: Path = typer.Option(Path("runs/train"), "--out", help="Checkpoint folder."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue from OUT/last.pt if it exists."),
) -> None:
    """Train a super-network; checkpoints OUT/last.pt after every epoch (transformer: every few steps)."""
    from tailor.train import Trainer, TrainSpec

    if supernet == "transformer":  # distillation from the original MiniLM, not classification
        from tailor.cli.train_transformer import train_transformer

        distill = _parse_kwargs(distill_args, "distill-args")
        if rank is not None:
            distill = {**distill, "optimizer_rank": rank}
        return train_transformer(supernet_kwargs=_parse_kwargs(supernet_args), data=data, sampler=sampler,
                                 steps=steps, batch_size=batch_size, lr=lr, seed=seed, optimizer=optimizer or "adamw",
                                 out=out, resume=resume, distill_args=distill)
    config = TrainSpec(
        supernet=supernet or _default_supernet(data), supernet_kwargs=_parse_kwargs(supernet_args), data=data,
        image_size=image_size, sampler=sampler, epochs=epochs, batch_size=64 if batch_size is None else batch_size,
        lr=0.05 if lr is None else lr, seed=seed, importance_weights=importance_weights,
        optimizer=optimizer or "sgd", rank=rank,
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
