"""Training data held in memory as tensors: scikit-learn's digits (offline) or an image folder.

Built-in ``digits``: 1,797 grey 8x8 images of 10 classes, scaled to [0, 1] and standardised,
as tensors of shape (1, 8, 8). When a super-network expects another input shape (e.g. 3x32x32),
``fit_to_input`` repeats the channel and upsamples bilinearly, so every family trains on it.

Image folders follow torchvision's ``ImageFolder`` layout, read with Pillow (no torchvision):
``root/<class>/<image>``; if ``root/train`` and ``root/val`` exist they are the splits, otherwise
a stratified ``val_fraction`` is held out. Everything is decoded once into memory: meant for
small and medium data sets, which is what super-network experiments on one machine use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tailor.errors import ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class DataSplit:
    """Train and validation tensors: images (N, C, H, W) float32 and labels (N,) int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    classes: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])


def load_data(spec: str, val_fraction: float = 0.2, seed: int = 0, image_size: int = 32) -> DataSplit:
    """``"digits"`` or a path to an image folder; ``image_size`` applies to folders only."""
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError("val_fraction", f"must be in (0, 1), got {val_fraction!r}")
    if spec == "digits":
        return load_digits(val_fraction, seed)
    return load_image_folder(spec, val_fraction, seed, image_size)


def load_digits(val_fraction: float = 0.2, seed: int = 0) -> DataSplit:
    from sklearn.datasets import load_digits as _load

    bunch = _load()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (N, 1, 8, 8)
    y = torch.tensor(bunch.target, dtype=torch.int64)
    classes = tuple(str(c) for c in bunch.target_names)
    return _split(x, y, classes, val_fraction, seed)


def _split(x: torch.Tensor, y: torch.Tensor, classes: tuple[str, ...], val_fraction: float, seed: int) -> DataSplit:
    """Stratified split (fixed by ``seed``), then standardise with the training statistics."""
    rng = np.random.default_rng(seed)
    val_idx: list[int] = []
    labels = y.numpy()
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = int(round(val_fraction * len(idx))) if len(idx) > 1 else 0
        val_idx.extend(idx[:n_val].tolist())
    mask = np.ones(len(labels), dtype=bool)
    mask[val_idx] = False
    train, val = torch.from_numpy(np.flatnonzero(mask)), torch.tensor(sorted(val_idx))
    if len(val) == 0:
        raise ConfigError("data", "too few images to hold out a validation split")
    return _standardise(x[train], y[train], x[val], y[val], classes)


def _standardise(
    xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor, classes: tuple[str, ...]
) -> DataSplit:
    mean = xt.mean(dim=(0, 2, 3), keepdim=True)
    std = xt.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    return DataSplit((xt - mean) / std, yt, (xv - mean) / std, yv, classes)


def _class_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_folder(
    root: Path, classes: tuple[str, ...], image_size: int, channels: int
) -> tuple[torch.Tensor, torch.Tensor]:
    from PIL import Image, UnidentifiedImageError

    mode = "L" if channels == 1 else "RGB"
    images, labels = [], []
    for label, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            continue
        for f in sorted(folder.rglob("*")):
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(f) as im:
                    im = im.convert(mode).resize((image_size, image_size), Image.BILINEAR)
                    arr = np.asarray(im, dtype=np.float32) / 255.0
            except (UnidentifiedImageError, OSError) as e:
                raise ConfigError("data", f"cannot read image {f}: {e}") from None
            images.append(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))
            labels.append(label)
    if not images:
        raise ConfigError("data", f"no images ({', '.join(IMAGE_SUFFIXES)}) under {root}")
    return torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.int64)


def _channels(root: Path, classes: tuple[str, ...]) -> int:
    """1 if every sampled image is grey, else 3."""
    from PIL import Image

    for name in classes:
        for f in sorted((root / name).rglob("*"))[:5]:
            if f.suffix.lower() in IMAGE_SUFFIXES:
                try:
                    with Image.open(f) as im:
                        if im.mode not in ("L", "1", "I", "I;16", "F"):
                            return 3
                except OSError:
                    continue
    return 1


def image_folder_layout(path: str | Path) -> tuple[Path, tuple[str, ...], bool]:
    """(training root, class names, has train/val splits); checks the layout without reading
    images, so a CLI can refuse a bad folder before it starts any progress bar."""
    root = Path(path)
    if not root.exists():
        raise ConfigError("data", f"path not found: {root}", "digits or an image folder")
    if not root.is_dir():
        raise ConfigError("data", f"not a folder: {root}", "digits or an image folder")
    has_splits = (root / "train").is_dir() and (root / "val").is_dir()
    train_root = root / "train" if has_splits else root
    classes = tuple(p.name for p in _class_dirs(train_root))
    if not classes:
        raise ConfigError(
            "data",
            f"image folder has no class folders: {train_root}",
            "root/<class>/<image> or root/{train,val}/<class>/<image>",
        )
    if len(classes) < 2:
        raise ConfigError("data", f"image folder has one class only ({classes[0]!r}): need >= 2")
    return train_root, classes, has_splits


def check_data(spec: str) -> None:
    """Refuses a data argument that is neither ``digits`` nor a well-formed image folder."""
    if spec != "digits":
        image_folder_layout(spec)


def load_image_folder(path: str | Path, val_fraction: float = 0.2, seed: int = 0, image_size: int = 32) -> DataSplit:
    if not isinstance(image_size, int) or image_size < 1:
        raise ConfigError("image_size", f"must be a positive integer, got {image_size!r}")
    train_root, classes, has_splits = image_folder_layout(path)
    root = Path(path)
    channels = _channels(train_root, classes)
    x, y = _read_folder(train_root, classes, image_size, channels)
    if not has_splits:
        return _split(x, y, classes, val_fraction, seed)
    xv, yv = _read_folder(root / "val", classes, image_size, channels)
    return _standardise(x, y, xv, yv, classes)


def fit_to_input(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Adapt images (N, C, H, W) to a model's expected (C', H', W'): repeat grey, resize."""
    c, h, w = shape
    if x.shape[1] != c:
        if x.shape[1] == 1:
            x = x.expand(-1, c, -1, -1)
        elif c == 1:
            x = x.mean(dim=1, keepdim=True)
        else:
            raise ConfigError("data", f"images have {x.shape[1]} channels, the model expects {c}")
    if tuple(x.shape[2:]) != (h, w):
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    return x.contiguous()
