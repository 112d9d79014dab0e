"""Super-network training: path samplers (SPOS, FairNAS, sandwich, PA&DA), data samplers,
the training loop with atomic checkpoints and resume, and data loading (digits, image folders).
"""

from tailor.train.checkpoint import load_checkpoint, save_checkpoint
from tailor.train.data import DataSplit, fit_to_input, load_data, load_digits, load_image_folder
from tailor.train.data_sampler import (
    ImportanceDataSampler,
    UniformDataSampler,
    logit_gradient_norm,
)
from tailor.train.paths import (
    PATH_SAMPLERS,
    FairPathSampler,
    PadaPathSampler,
    PathSampler,
    SandwichPathSampler,
    UniformPathSampler,
    make_path_sampler,
    tau_at,
)
from tailor.train.spec import TrainSpec
from tailor.train.trainer import Trainer, TrainResult, build_supernet, evaluate, train

__all__ = [
    "PATH_SAMPLERS",
    "DataSplit",
    "FairPathSampler",
    "ImportanceDataSampler",
    "PadaPathSampler",
    "PathSampler",
    "SandwichPathSampler",
    "TrainSpec",
    "TrainResult",
    "Trainer",
    "UniformDataSampler",
    "UniformPathSampler",
    "build_supernet",
    "evaluate",
    "fit_to_input",
    "load_checkpoint",
    "load_data",
    "load_digits",
    "load_image_folder",
    "logit_gradient_norm",
    "make_path_sampler",
    "save_checkpoint",
    "tau_at",
    "train",
]
