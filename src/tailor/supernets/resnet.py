"""Elastic bottleneck ResNet in the shape of OFA-ResNet50 (Cai et al., "Once-for-All", 2020).

Elastic per stage: depth (``base_depths[s] + extra_depth[s]`` blocks run) and width multiplier
(output channels ``make_divisible(stage_channels[s] * width[s + 1])``; ``width[0]`` scales the
stem); elastic per block: bottleneck expand ratio (middle channels ``make_divisible(out * e)``);
and the input resolution. Channels are prefix slices of the largest weights; ``sort_channels``
orders the bottleneck middle channels by importance. The stem is one 3x3 conv plus max-pool
(OFA uses a three-conv stem); shortcuts of the first block of each stage are 1x1 conv + BN.

Config: ``resolution``, ``width`` (stem + one per stage), ``extra_depth`` (one per stage),
``expand`` (one per block slot, stage-major; skipped slots are ``None`` when canonical).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tailor.errors import ConfigError
from tailor.space import Choice, Config, SearchSpace
from tailor.supernets.elastic_ops import (
    ElasticBatchNorm2d,
    ElasticConv2d,
    ElasticLinear,
    check_config,
    l1_order,
    make_divisible,
    permute_,
    permute_bn_,
)
from tailor.supernets.registry import register_supernet


@dataclass(frozen=True)
class ResNetArgs:
    """Sizes of the super-network (defaults: OFA-ResNet50 at ImageNet scale)."""

    num_classes: int = 1000
    in_channels: int = 3
    resolutions: tuple[int, ...] = (128, 160, 192, 224)
    width_mults: tuple[float, ...] = (0.65, 0.8, 1.0)
    expand_ratios: tuple[float, ...] = (0.2, 0.25, 0.35)
    extra_depths: tuple[int, ...] = (0, 1, 2)
    base_depths: tuple[int, ...] = (2, 2, 4, 2)
    stem_channels: int = 64
    stage_channels: tuple[int, ...] = (256, 512, 1024, 2048)
    stage_strides: tuple[int, ...] = (1, 2, 2, 2)
    stem_stride: int = 2
    stem_pool: bool = True
    dropout: float = 0.0

    def __post_init__(self) -> None:
        n = len(self.stage_channels)
        for name in ("base_depths", "stage_strides"):
            if len(getattr(self, name)) != n:
                raise ConfigError(f"resnet.{name}", f"needs one entry per stage ({n})")
        if min(self.base_depths) < 1:
            raise ConfigError("resnet.base_depths", "must be >= 1")
        if min(self.extra_depths) < 0:
            raise ConfigError("resnet.extra_depths", "must be >= 0")
        if min(self.width_mults) <= 0 or min(self.expand_ratios) <= 0:
            raise ConfigError("resnet.width_mults", "multipliers and expand ratios must be > 0")
        for name in ("num_classes", "in_channels"):
            if getattr(self, name) < 1:
                raise ConfigError(f"resnet.{name}", "must be >= 1")


class Bottleneck(nn.Module):
    """Static bottleneck: relu(branch(x) + shortcut(x))."""

    def __init__(self, branch: nn.Module, shortcut: nn.Module):
        super().__init__()
        self.branch, self.shortcut = branch, shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.branch(x) + self.shortcut(x))


class ElasticBottleneck(nn.Module):
    """1x1 -> 3x3 (stride) -> 1x1 bottleneck with elastic output width and expand ratio."""

    def __init__(self, max_in: int, max_out: int, stride: int, max_expand: float, downsample: bool):
        super().__init__()
        mid = make_divisible(max_out * max_expand)
        self.conv1, self.bn1 = ElasticConv2d(max_in, mid, 1), ElasticBatchNorm2d(mid)
        self.conv2, self.bn2 = ElasticConv2d(mid, mid, 3, stride), ElasticBatchNorm2d(mid)
        self.conv3, self.bn3 = ElasticConv2d(mid, max_out, 1), ElasticBatchNorm2d(max_out)
        nn.init.zeros_(self.bn3.bn.weight)  # residual branch starts at zero (standard ResNet trick)
        self.ds_conv = ElasticConv2d(max_in, max_out, 1, stride) if downsample else None
        self.ds_bn = ElasticBatchNorm2d(max_out) if downsample else None
        self.active_out, self.active_expand = max_out, max_expand

    @staticmethod
    def mid(out: int, expand: float) -> int:
        return make_divisible(out * expand)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.active_out
        mid = self.mid(out, self.active_expand)
        h = F.relu(self.bn1(self.conv1(x, out_ch=mid)))
        h = F.relu(self.bn2(self.conv2(h, out_ch=mid)))
        h = self.bn3(self.conv3(h, out_ch=out))
        sc = x if self.ds_conv is None else self.ds_bn(self.ds_conv(x, out_ch=out))
        return F.relu(h + sc)

    def export(self, cin: int, out: int, expand: float) -> Bottleneck:
        mid = self.mid(out, expand)
        branch = nn.Sequential(
            self.conv1.export(cin, mid), self.bn1.export(mid), nn.ReLU(),
            self.conv2.export(mid, mid), self.bn2.export(mid), nn.ReLU(),
            self.conv3.export(mid, out), self.bn3.export(out),
        )
        shortcut: nn.Module = nn.Identity()
        if self.ds_conv is not None:
            shortcut = nn.Sequential(self.ds_conv.export(cin, out), self.ds_bn.export(out))
        return Bottleneck(branch, shortcut)

    def sort_channels(self) -> None:
        """Order middle channels by the L1 norm of the weights that read them."""
        order = l1_order(self.conv3.weight, 1)
        permute_(self.conv3.weight, order, 1)
        permute_(self.conv2.weight, order, 0)
        permute_bn_(self.bn2, order)
        order = l1_order(self.conv2.weight, 1)
        permute_(self.conv2.weight, order, 1)
        permute_(self.conv1.weight, order, 0)
        permute_bn_(self.bn1, order)


class ResNetSubnet(nn.Module):
    """A standalone bottleneck ResNet of fixed shape (what ``ElasticResNet.subnet`` returns)."""

    def __init__(self, stem: nn.Module, blocks: nn.Sequential, head: nn.Module):
        super().__init__()
        self.stem, self.blocks, self.head = stem, blocks, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))  # (B, num_classes)


class ElasticResNet(nn.Module):
    """The weight-sharing super-network; implements ``tailor.supernets.SuperNet``."""

    def __init__(self, args: ResNetArgs | None = None):
        super().__init__()
        a = self.args = args or ResNetArgs()
        wmax, emax = max(a.width_mults), max(a.expand_ratios)
        stem = make_divisible(a.stem_channels * wmax)
        self.stem_conv = ElasticConv2d(a.in_channels, stem, 3, a.stem_stride)
        self.stem_bn = ElasticBatchNorm2d(stem)
        self.pool = nn.MaxPool2d(3, 2, 1) if a.stem_pool else nn.Identity()
        self.max_depths = [b + max(a.extra_depths) for b in a.base_depths]
        stages, cin = [], stem
        for width, stride, depth in zip(a.stage_channels, a.stage_strides, self.max_depths,
                                        strict=True):
            cout = make_divisible(width * wmax)
            stages.append(nn.ModuleList(
                ElasticBottleneck(cin if i == 0 else cout, cout, stride if i == 0 else 1, emax,
                                  downsample=i == 0)
                for i in range(depth)
            ))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.dropout = nn.Dropout(a.dropout)
        self.classifier = ElasticLinear(cin, a.num_classes)
        self._space = self._build_space()
        self.active_config: Config = {}
        self.activate(self._space.extreme("max"))

    # ------------------------------------------------------------------ protocol
    def _slot_offsets(self) -> list[int]:
        offsets, total = [], 0
        for d in self.max_depths:
            offsets.append(total)
            total += d
        return offsets

    def _build_space(self) -> SearchSpace:
        a, n = self.args, len(self.stages)
        offsets = self._slot_offsets()

        def canonicalize(cfg: Config) -> Config:
            expand = list(cfg["expand"])
            for s, extra in enumerate(cfg["extra_depth"]):
                for i in range(a.base_depths[s] + extra, self.max_depths[s]):
                    expand[offsets[s] + i] = None
            return {**cfg, "expand": expand}

        return SearchSpace(
            [
                Choice("resolution", tuple(sorted(a.resolutions)), ordered=True),
                Choice("width", tuple(sorted(a.width_mults)), repeat=n + 1, ordered=True),
                Choice("extra_depth", tuple(sorted(a.extra_depths)), repeat=n, ordered=True),
                Choice("expand", tuple(sorted(a.expand_ratios)), repeat=sum(self.max_depths),
                       ordered=True),
            ],
            canonicalize=canonicalize,
        )

    def space(self) -> SearchSpace:
        return self._space

    def _widths(self, cfg: Config) -> tuple[int, list[int]]:
        a = self.args
        stem = make_divisible(a.stem_channels * cfg["width"][0])
        return stem, [make_divisible(c * w) for c, w in zip(a.stage_channels, cfg["width"][1:],
                                                             strict=True)]

    def _active_blocks(self, cfg: Config):
        """Yield (block, in_channels, out_channels, expand) along the active path."""
        stem, widths = self._widths(cfg)
        offsets, cin = self._slot_offsets(), stem
        for s, stage in enumerate(self.stages):
            for i in range(self.args.base_depths[s] + cfg["extra_depth"][s]):
                yield stage[i], cin, widths[s], cfg["expand"][offsets[s] + i]
                cin = widths[s]

    def activate(self, config: Config) -> None:
        """Select the active path in place; ``ConfigError`` for a config outside the space."""
        cfg = check_config(self._space, config)
        for block, _, out, expand in self._active_blocks(cfg):
            block.active_out, block.active_expand = out, expand
        self.active_config = cfg

    def subnet(self, config: Config) -> ResNetSubnet:
        """Standalone copy of ``config``'s path (plain layers, sliced weights, BN statistics)."""
        cfg = check_config(self._space, config)
        stem_w, widths = self._widths(cfg)
        stem = nn.Sequential(self.stem_conv.export(self.args.in_channels, stem_w),
                             self.stem_bn.export(stem_w), nn.ReLU(), copy.deepcopy(self.pool))
        blocks = nn.Sequential(*[b.export(c, o, e) for b, c, o, e in self._active_blocks(cfg)])
        head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), copy.deepcopy(self.dropout),
                             self.classifier.export(widths[-1]))
        return ResNetSubnet(stem, blocks, head).train(self.training)

    def example_input(self, batch_size: int = 1, config: Config | None = None) -> torch.Tensor:
        r = (config or self.active_config)["resolution"]
        gen = torch.Generator().manual_seed(0)
        return torch.randn(batch_size, self.args.in_channels, r, r, generator=gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.active_config
        stem, _ = self._widths(cfg)
        x = self.pool(F.relu(self.stem_bn(self.stem_conv(x, out_ch=stem))))  # (B, C, H/4, W/4)
        for s, stage in enumerate(self.stages):
            for block in stage[: self.args.base_depths[s] + cfg["extra_depth"][s]]:
                x = block(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)  # (B, C)
        return self.classifier(self.dropout(x))  # (B, num_classes)

    # ------------------------------------------------------------------ training helpers
    def sort_channels(self) -> None:
        """Reorder bottleneck middle channels by importance (largest network unchanged)."""
        for stage in self.stages:
            for block in stage:
                block.sort_channels()


@register_supernet("resnet", options=ResNetArgs)
def resnet(args: ResNetArgs) -> ElasticResNet:
    """OFA-ResNet50-shaped elastic ResNet; keyword arguments are ``ResNetArgs`` fields."""
    return ElasticResNet(args)
