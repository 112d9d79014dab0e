"""`tailor profile --supernet NAME [-o KEY=VALUE] [--data D] (--out DEVICE.json | --export DIR)`.

Profiles a family's latency table on this machine, or exports the block ONNX files and a one-file
runner (``run_profile.py``: onnxruntime + numpy) to profile a device that has no tailor.
"""

from __future__ import annotations

from pathlib import Path

import typer

from tailor.cli._console import key_values, progress, say, writable_dir


def supernet_kwargs(name: str, data: str | None, options: dict) -> dict:
    """The sizes ``tailor search --supernet NAME --data D`` builds the family with, then ``options``."""
    if data is None:
        return dict(options)
    from tailor.problems.supernet import DIGITS_SIZES
    from tailor.train.data import check_data, load_data

    check_data(data)
    split = load_data(data)
    sizes = DIGITS_SIZES.get(name, {}) if data == "digits" else {}
    return {**sizes, "num_classes": split.num_classes, "in_channels": split.in_channels, **options}


def profile(
    supernet: str = typer.Option(..., "--supernet", help="Registered family: mobilenetv3, resnet, nb201_cell, "
                                 "transformer (MiniLM)."),
    option: list[str] = typer.Option(None, "--option", "-o", help="A family size as KEY=VALUE (repeatable), "
                                     "e.g. -o 'resolutions=[24,32]'."),
    data: str = typer.Option(None, "--data", help="Use the sizes 'tailor search --data D' trains with (digits or "
                             "an image folder)."),
    threads: int = typer.Option(1, "--threads", help="ONNX Runtime intra-op threads on the device."),
    rounds: int = typer.Option(5, "--rounds", help="Interleaved rounds over all blocks (median of rounds)."),
    repeats: int = typer.Option(20, "--repeats", help="Timed calls per block and round."),
    warmup: int = typer.Option(5, "--warmup", help="Untimed calls per session before the rounds."),
    calibration: int = typer.Option(10, "--calibration", help="End-to-end sub-networks measured to fit the "
                                    "correction model."),
    correction: str = typer.Option("blocks", "--correction", help="Fit on the calibration networks: blocks "
                                   "(a * block sum + b per block + c, default), theil-sen (robust scale + offset "
                                   "of the overhead-aware sum), scale (median ratio) or none."),
    seed: int = typer.Option(0, "--seed", help="Seeds the calibration sub-networks and the round order."),
    out: Path = typer.Option(None, "--out", help="Table file to write (DEVICE.json)."),
    export: Path = typer.Option(None, "--export", help="Only write the blocks, the manifest and run_profile.py "
                                "here, to profile another device."),
) -> None:
    """Profile every distinct block of a family into a latency table (or export them for a device)."""
    from tailor.errors import ConfigError
    from tailor.latency_table import block_family
    from tailor.latency_table.profile import RUNNER_NAME, export_for_profiling
    from tailor.latency_table.runner import CORRECTIONS, write_table
    from tailor.latency_table.runner import profile as run_profile
    from tailor.measure.latency import check_counts
    from tailor.supernets import create_supernet

    if (out is None) == (export is None):
        raise ConfigError("out", "give exactly one of --out DEVICE.json (profile here) or --export DIR")
    check_counts(threads, warmup, repeats)
    if correction not in CORRECTIONS:
        raise ConfigError("correction", f"got {correction!r}", CORRECTIONS)
    for field, value in (("rounds", rounds), ("calibration", calibration)):
        if value < 1:
            raise ConfigError(field, f"must be >= 1, got {value}")
    if out is not None and out.is_dir():
        raise ConfigError("out", f"is a directory, expected a file path: {out}")
    net = create_supernet(supernet, **supernet_kwargs(supernet, data, key_values("option", option)))
    family = block_family(supernet, net)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tailor-profile-") as tmp:
        directory = writable_dir("export", export) if export is not None else Path(tmp)
        with progress() as bar:
            task = bar.add_task(f"export {supernet} blocks", total=None, status="")
            manifest = export_for_profiling(net, family, directory, calibration, seed,
                                            lambda d, n: bar.update(task, completed=d, total=n))
        if export is not None:
            say(f"exported {len(manifest['blocks'])} blocks and {len(manifest['calibration'])} calibration networks "
                f"to {directory}/; on the device: python {directory / RUNNER_NAME} {directory} --threads {threads} "
                f"--correction {correction} --out DEVICE.json")
            return
        with progress() as bar:
            task = bar.add_task(f"measure ({threads} thread{'s' if threads > 1 else ''})", total=None, status="")
            table = run_profile(directory, threads, rounds, repeats, warmup, seed,
                                lambda d, n: bar.update(task, completed=d, total=n), correction)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_table(table, out)
    c = table["correction"]
    spreads = sorted(e["spread"] for e in table["entries"].values())
    err = "-" if c["rel_std"] is None else f"{100 * c['rel_std']:.1f} %"
    say(f"{out}: {len(table['entries'])} blocks, median round spread {100 * spreads[len(spreads) // 2]:.1f} %, "
        f"correction {c['kind']} on {c['n']} networks (leave-one-out error {err}), fingerprint {table['fingerprint']}")
