"""Once-for-All style elastic MobileNetV3 (Cai et al., "Once-for-All", ICLR 2020).

Five stages of up to ``max(depths)`` inverted-residual blocks with squeeze-excite and h-swish
where MobileNetV3 has them. Elastic per block: depthwise kernel (centre crop of the largest
kernel; OFA's kernel-transform matrices are left out) and expand ratio (prefix slice of the
hidden channels, which ``sort_channels`` orders by importance); elastic per stage: depth (the
first ``d`` blocks run); and the input resolution.

Config: ``resolution`` (int), ``depth`` (one per stage), ``kernel`` and ``expand`` (one per block
slot, stage-major; slots a stage's depth skips are ``None`` in the canonical form).

Optional sparsity dimension (``sparsities``, off by default): ``sparsity`` (one per stage, or one
for the whole network with ``sparsity_per="network"``) prunes the 1x1 expand and project
convolutions of the stage's blocks with nested magnitude masks
(``tailor.sparse.nested``: the 90 % mask is a subset of the 80 % one, so one set of weights
serves every level). Call ``rank_by_magnitude`` on trained weights before a masked fine-tune.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.space import Choice, Config, SearchSpace
from tailor.supernets.elastic_ops import (
    ElasticBatchNorm2d,
    ElasticConv2d,
    ElasticSqueezeExcite,
    check_config,
    l1_order,
    make_divisible,
    permute_,
    permute_bn_,
)
from tailor.supernets.registry import register_supernet

_ACTS = {"relu": nn.ReLU, "hswish": nn.Hardswish}
SPARSITY_PER = ("stage", "network")


@dataclass(frozen=True)
class MobileNetV3Args:
    """Sizes of the super-network (defaults: OFA-MobileNetV3 at ImageNet scale)."""

    num_classes: int = 1000
    in_channels: int = 3
    width_mult: float = 1.0
    resolutions: tuple[int, ...] = (128, 160, 192, 224)
    kernel_sizes: tuple[int, ...] = (3, 5, 7)
    expand_ratios: tuple[int, ...] = (3, 4, 6)
    depths: tuple[int, ...] = (2, 3, 4)
    stem_channels: int = 16
    stage_channels: tuple[int, ...] = (24, 40, 80, 112, 160)
    stage_strides: tuple[int, ...] = (2, 2, 2, 1, 2)
    stage_se: tuple[bool, ...] = (False, True, False, True, True)
    stage_act: tuple[str, ...] = ("relu", "relu", "hswish", "hswish", "hswish")
    stem_stride: int = 2
    final_channels: int = 960
    head_channels: int = 1280
    dropout: float = 0.1
    sparsities: tuple[float, ...] = ()  # per-stage choice for the 1x1 layers; () = no such dimension
    sparse_block: int = 4  # output channels per mask block (the sparse kernel's fastest is 4)
    # "stage": one level per stage (a random config is dense everywhere with p = 1/levels^stages);
    # "network": one level for all stages, so the dense sub-networks are 1/levels of the space
    sparsity_per: str = "stage"

    def __post_init__(self) -> None:
        from tailor.sparse.density import check_sparsity

        object.__setattr__(self, "sparsities",
                           tuple(check_sparsity(s, "mobilenetv3.sparsities") for s in self.sparsities))
        if len(set(self.sparsities)) != len(self.sparsities):
            raise ConfigError("mobilenetv3.sparsities", "must not repeat a value", self.sparsities)
        if self.sparsity_per not in SPARSITY_PER:
            raise ConfigError("mobilenetv3.sparsity_per", f"got {self.sparsity_per!r}", SPARSITY_PER)
        if self.sparse_block not in (1, 2, 4):
            raise ConfigError("mobilenetv3.sparse_block", f"got {self.sparse_block!r}", (1, 2, 4))
        n = len(self.stage_channels)
        for name in ("stage_strides", "stage_se", "stage_act"):
            if len(getattr(self, name)) != n:
                raise ConfigError(f"mobilenetv3.{name}", f"needs one entry per stage ({n})")
        for name in ("num_classes", "in_channels"):
            if getattr(self, name) < 1:
                raise ConfigError(f"mobilenetv3.{name}", "must be >= 1")
        if self.width_mult <= 0:
            raise ConfigError("mobilenetv3.width_mult", "must be > 0")
        if any(k % 2 == 0 for k in self.kernel_sizes):
            raise ConfigError("mobilenetv3.kernel_sizes", "must be odd", self.kernel_sizes)
        if any(a not in _ACTS for a in self.stage_act):
            raise ConfigError("mobilenetv3.stage_act", "unknown activation", _ACTS)
        if min(self.depths) < 1:
            raise ConfigError("mobilenetv3.depths", "must be >= 1")

    def ch(self, c: int) -> int:
        return make_divisible(c * self.width_mult)


class InvertedResidual(nn.Module):
    """Static MobileNetV3 block: [1x1 expand] -> depthwise -> [SE] -> 1x1 project (+ residual)."""

    def __init__(self, expand: nn.Module | None, depthwise: nn.Module, se: nn.Module | None,
                 project: nn.Module, residual: bool):
        super().__init__()
        self.expand = expand if expand is not None else nn.Identity()
        self.depthwise = depthwise
        self.se = se if se is not None else nn.Identity()
        self.project = project
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.depthwise(self.expand(x))))
        return x + y if self.residual else y


class ElasticInvertedResidual(nn.Module):
    """Inverted residual with elastic depthwise kernel and expand ratio."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, args: MobileNetV3Args,
                 use_se: bool, act: str):
        super().__init__()
        self.in_ch, self.out_ch, self.act_name = in_ch, out_ch, act
        self.expand_ratios = tuple(args.expand_ratios)
        hidden = self.hidden(max(self.expand_ratios))
        self.expand_conv = ElasticConv2d(in_ch, hidden, 1)
        self.expand_bn = ElasticBatchNorm2d(hidden)
        self.dw_conv = ElasticConv2d(hidden, hidden, max(args.kernel_sizes), stride, depthwise=True)
        self.dw_bn = ElasticBatchNorm2d(hidden)
        self.se = ElasticSqueezeExcite(hidden) if use_se else None
        self.project_conv = ElasticConv2d(hidden, out_ch, 1)
        self.project_bn = ElasticBatchNorm2d(out_ch)
        self.act = _ACTS[act]()
        self.residual = stride == 1 and in_ch == out_ch
        if self.residual:  # residual branch starts at zero (as resnet.py's bn3): a deep stack of
            nn.init.zeros_(self.project_bn.bn.weight)  # blocks trains from the first steps
        self.active_kernel = max(args.kernel_sizes)
        self.active_expand = max(self.expand_ratios)
        self.active_sparsity = 0.0
        self.expand_mask = self.project_mask = None
        if args.sparsities:
            from tailor.sparse.nested import NestedMask

            self.expand_mask = NestedMask(hidden, in_ch, args.sparse_block)
            self.project_mask = NestedMask(out_ch, hidden, args.sparse_block)
            self.rank_by_magnitude()

    def rank_by_magnitude(self) -> None:
        """Rank the 1x1 weights' blocks by magnitude (fixes every level's nested mask)."""
        if self.expand_mask is not None and self.project_mask is not None:
            self.expand_mask.rank_by_magnitude(self.expand_conv.weight)
            self.project_mask.rank_by_magnitude(self.project_conv.weight)

    def _masks(self, hid: int, sparsity: float) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if not sparsity or self.expand_mask is None or self.project_mask is None:
            return None, None
        return (self.expand_mask.mask(sparsity, hid, self.in_ch),
                self.project_mask.mask(sparsity, self.out_ch, hid))

    def hidden(self, expand: float) -> int:
        return make_divisible(self.in_ch * expand)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hid = self.hidden(self.active_expand)
        m_exp, m_proj = self._masks(hid, self.active_sparsity)
        h = self.act(self.expand_bn(self.expand_conv(x, out_ch=hid, mask=m_exp)))
        h = self.act(self.dw_bn(self.dw_conv(h, kernel=self.active_kernel)))
        if self.se is not None:
            h = self.se(h)
        y = self.project_bn(self.project_conv(h, out_ch=self.out_ch, mask=m_proj))
        return x + y if self.residual else y

    def export(self, kernel: int, expand: float, sparsity: float = 0.0) -> InvertedResidual:
        hid = self.hidden(expand)
        act, out, cin = _ACTS[self.act_name], self.out_ch, self.in_ch
        m_exp, m_proj = self._masks(hid, sparsity)
        return InvertedResidual(
            nn.Sequential(self.expand_conv.export(cin, hid, mask=m_exp), self.expand_bn.export(hid), act()),
            nn.Sequential(self.dw_conv.export(hid, hid, kernel), self.dw_bn.export(hid), act()),
            None if self.se is None else self.se.export(hid),
            nn.Sequential(self.project_conv.export(hid, out, mask=m_proj), self.project_bn.export(out)),
            self.residual,
        )

    def sort_channels(self) -> None:
        """Order hidden channels by the L1 norm of the project weights that read them."""
        order = l1_order(self.project_conv.weight, 1)
        permute_(self.project_conv.weight, order, 1)
        permute_(self.dw_conv.weight, order, 0)
        permute_bn_(self.dw_bn, order)
        permute_(self.expand_conv.weight, order, 0)
        permute_bn_(self.expand_bn, order)
        if self.se is not None:
            permute_(self.se.expand.weight, order, 0)
            permute_(self.se.expand.bias, order, 0)
            permute_(self.se.reduce.weight, order, 1)
            mid = l1_order(self.se.expand.weight, 1)  # SE bottleneck: same idea
            permute_(self.se.expand.weight, mid, 1)
            permute_(self.se.reduce.weight, mid, 0)
            permute_(self.se.reduce.bias, mid, 0)
        self.rank_by_magnitude()  # the order changed: masks follow the weights


def _conv_bn_act(cin: int, cout: int, k: int, stride: int, act: type[nn.Module]) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout),
                         act())


class MobileNetV3Subnet(nn.Module):
    """A standalone MobileNetV3 of fixed shape (what ``ElasticMobileNetV3.subnet`` returns)."""

    def __init__(self, stem: nn.Module, blocks: nn.Sequential, final_expand: nn.Module,
                 head: nn.Module):
        super().__init__()
        self.stem, self.blocks, self.final_expand, self.head = stem, blocks, final_expand, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.final_expand(self.blocks(self.stem(x))))  # (B, num_classes)


class ElasticMobileNetV3(nn.Module):
    """The weight-sharing super-network; implements ``tailor.supernets.SuperNet``."""

    def __init__(self, args: MobileNetV3Args | None = None):
        super().__init__()
        a = self.args = args or MobileNetV3Args()
        stem = a.ch(a.stem_channels)
        first = InvertedResidual(  # fixed first block: depthwise 3x3, expand 1, as in OFA
            None, _conv_bn_act(stem, stem, 3, 1, nn.ReLU), None,
            nn.Sequential(nn.Conv2d(stem, stem, 1, bias=False), nn.BatchNorm2d(stem)), True,
        )
        self.stem = nn.Sequential(_conv_bn_act(a.in_channels, stem, 3, a.stem_stride, nn.Hardswish),
                                  first)
        self.max_depth = max(a.depths)
        stages, cin = [], stem
        for width, stride, se, act in zip(a.stage_channels, a.stage_strides, a.stage_se,
                                          a.stage_act, strict=True):
            cout = a.ch(width)
            blocks = [
                ElasticInvertedResidual(cin if i == 0 else cout, cout, stride if i == 0 else 1, a,
                                        se, act)
                for i in range(self.max_depth)
            ]
            stages.append(nn.ModuleList(blocks))
            cin = cout
        self.stages = nn.ModuleList(stages)
        final, head = a.ch(a.final_channels), a.ch(a.head_channels)
        self.final_expand = _conv_bn_act(cin, final, 1, 1, nn.Hardswish)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(final, head, 1), nn.Hardswish(), nn.Flatten(),
            nn.Dropout(a.dropout), nn.Linear(head, a.num_classes),
        )
        self._space = self._build_space()
        self.active_config: Config = {}
        self.activate(self._space.extreme("max"))

    # ------------------------------------------------------------------ protocol
    def _build_space(self) -> SearchSpace:
        a, n_stages = self.args, len(self.stages)
        slots = n_stages * self.max_depth

        def canonicalize(cfg: Config) -> Config:
            kernel, expand = list(cfg["kernel"]), list(cfg["expand"])
            for s, d in enumerate(cfg["depth"]):
                for i in range(d, self.max_depth):
                    kernel[s * self.max_depth + i] = expand[s * self.max_depth + i] = None
            return {**cfg, "kernel": kernel, "expand": expand}

        choices = [
            Choice("resolution", tuple(sorted(a.resolutions)), ordered=True),
            Choice("depth", tuple(sorted(a.depths)), repeat=n_stages, ordered=True),
            Choice("kernel", tuple(sorted(a.kernel_sizes)), repeat=slots, ordered=True),
            Choice("expand", tuple(sorted(a.expand_ratios)), repeat=slots, ordered=True),
        ]
        if a.sparsities:  # smallest network first: the sparsest level
            choices.append(Choice("sparsity", tuple(sorted(a.sparsities, reverse=True)), ordered=True,
                                  repeat=n_stages if a.sparsity_per == "stage" else None))
        return SearchSpace(choices, canonicalize=canonicalize)

    def space(self) -> SearchSpace:
        return self._space

    def _active_blocks(self, cfg: Config):
        sparsity = cfg.get("sparsity") or 0.0
        if not isinstance(sparsity, list):  # one level for the whole network
            sparsity = [sparsity] * len(self.stages)
        for s, stage in enumerate(self.stages):
            for i in range(cfg["depth"][s]):
                slot = s * self.max_depth + i
                yield stage[i], cfg["kernel"][slot], cfg["expand"][slot], sparsity[s]

    def activate(self, config: Config) -> None:
        """Select the active path in place; ``ConfigError`` for a config outside the space."""
        cfg = check_config(self._space, config)
        for block, kernel, expand, sparsity in self._active_blocks(cfg):
            block.active_kernel, block.active_expand, block.active_sparsity = kernel, expand, sparsity
        self.active_config = cfg

    def subnet(self, config: Config) -> MobileNetV3Subnet:
        """Standalone copy of ``config``'s path (plain layers, sliced weights, BN statistics)."""
        cfg = check_config(self._space, config)
        blocks = nn.Sequential(*[b.export(k, e, s) for b, k, e, s in self._active_blocks(cfg)])
        net = MobileNetV3Subnet(copy.deepcopy(self.stem), blocks, copy.deepcopy(self.final_expand),
                                copy.deepcopy(self.head))
        return net.train(self.training)

    def example_input(self, batch_size: int = 1, config: Config | None = None) -> torch.Tensor:
        r = (config or self.active_config)["resolution"]
        gen = torch.Generator().manual_seed(0)
        return torch.randn(batch_size, self.args.in_channels, r, r, generator=gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # (B, C, H/2, W/2)
        depths = self.active_config["depth"]
        for stage, d in zip(self.stages, depths, strict=True):
            for block in stage[:d]:
                x = block(x)
        return self.head(self.final_expand(x))  # (B, num_classes)

    # ------------------------------------------------------------------ training helpers
    def rank_by_magnitude(self) -> None:
        """Re-rank every block's 1x1 weights by magnitude: the nested masks of the sparsity
        dimension then keep the largest weights (run on trained weights, before a masked fine-tune).
        Does nothing without a sparsity dimension."""
        for stage in self.stages:
            for block in stage:
                block.rank_by_magnitude()

    def sort_channels(self) -> None:
        """Reorder every block's hidden channels by importance (largest network unchanged).

        Run it before training a smaller expand ratio (OFA's progressive shrinking), so that
        narrow slices keep the most important weights.
        """
        for stage in self.stages:
            for block in stage:
                block.sort_channels()


@register_supernet("mobilenetv3", options=MobileNetV3Args)
def mobilenetv3(args: MobileNetV3Args) -> ElasticMobileNetV3:
    """OFA-MobileNetV3; keyword arguments are ``MobileNetV3Args`` fields."""
    return ElasticMobileNetV3(args)
