"""`tailor train --supernet transformer`: distil the original MiniLM into its elastic super-network."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from tailor.cli._console import progress, say, writable_dir
from tailor.errors import ConfigError


def train_transformer(*, supernet_kwargs: dict, data: str | None, sampler: str, steps: int | None,
                      batch_size: int | None, lr: float | None, seed: int, optimizer: str, out: Path,
                      resume: bool, distill_args: dict | None = None) -> None:
    """Run ``DistillTrainer``; show loss and the held-out agreement of the largest, a middle and the
    smallest sub-network; write OUT/last.pt every few steps and OUT/elastic_layers.safetensors at
    the end (what ``tailor search -o weights=OUT/elastic_layers.safetensors`` searches)."""
    from tailor.train.distill import WEIGHTS_NAME, DistillConfig, DistillTrainer

    defaults = DistillConfig()
    flags = {"supernet_kwargs": supernet_kwargs, "data": () if data in (None, "digits", "corpus") else (data,),
             "sampler": sampler, "steps": steps or defaults.steps, "batch_size": batch_size or defaults.batch_size,
             "lr": lr or defaults.lr, "seed": seed, "optimizer": optimizer}
    extra = dict(distill_args or {})
    known = set(DistillConfig.__dataclass_fields__) - set(flags)
    unknown = sorted(set(extra) - known)
    if unknown:
        raise ConfigError("distill-args", f"unknown or flag-owned setting {unknown[0]!r}", sorted(known))
    config = DistillConfig(**flags, **extra)
    out = writable_dir("out", out)
    say("loading the elastic MiniLM, ranking heads and neurons, splitting the corpus ...")
    trainer = DistillTrainer(config, out)
    say(f"training sentences: {len(trainer.sentences)} ({trainer.n_user} from --data); held-out: "
        f"{len(trainer.split.val)}; never used: the {len(trainer.split.test)} agreement sentences")

    def line(record: dict) -> str:
        a = record["agreement"]
        return f"agreement L/M/S {a['largest']:.3f}/{a['middle']:.3f}/{a['smallest']:.3f}"

    with progress() as bar:
        task = bar.add_task("distil transformer", total=config.steps, completed=0, status="")
        last = {"agreement": ""}

        def on_step(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, status=f"loss {loss:.4f}  {last['agreement']}")

        def on_eval(record: dict) -> None:
            last["agreement"] = line(record)
            loss = "-" if record["loss"] is None else f"{record['loss']:.4f}"
            say(f"step {record['step']}/{config.steps}  loss {loss}  {line(record)}  (held-out)")
            bar.update(task, completed=record["step"], status=last["agreement"])

        result = trainer.run(resume=resume, on_step=on_step, on_eval=on_eval)
    if result["resumed_from"] is not None:
        say(f"resumed at step {result['resumed_from']}")
    command = "tailor " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    weights = trainer.export_weights(out / WEIGHTS_NAME, command=command)
    say(f"trained transformer with {config.sampler}: {result['steps']} steps, "
        f"{result['train_seconds'] / 60:.1f} min training, peak RSS {result['peak_rss_mb']:.0f} MB; "
        f"checkpoint {result['checkpoint']}")
    say(f"elastic layers: {weights} (search them: tailor search -o weights={weights})")
