"""ResNet blocks: stem per (resolution, width), bottleneck per (input size, channels in/out,
middle channels, stride, shortcut), pooled classifier per last width."""

from __future__ import annotations

import copy

from torch import nn

from tailor.latency_table.blocks import BlockSpec, ImageFamilyBlocks, conv_out, image_input, register_blocks
from tailor.space import Config
from tailor.supernets.elastic_ops import check_config, make_divisible


@register_blocks("resnet")
class ResNetBlocks(ImageFamilyBlocks):
    family = "resnet"

    def _sizes(self, r: int) -> list[int]:
        """Input spatial size of each stage's first block, then the head's."""
        n = conv_out(r, self.args.stem_stride)
        if self.args.stem_pool:
            n = conv_out(n, 2)
        sizes = []
        for stride in self.args.stage_strides:
            sizes.append(n)
            n = conv_out(n, stride)
        return [*sizes, n]

    def _widths(self, s: int) -> list[int]:
        return sorted({make_divisible(self.args.stage_channels[s] * w) for w in self.args.width_mults})

    def _stem_widths(self) -> list[int]:
        return sorted({make_divisible(self.args.stem_channels * w) for w in self.args.width_mults})

    @staticmethod
    def _block_key(n: int, cin: int, cout: int, mid: int, stride: int, first: bool) -> str:
        return f"bottleneck/n{n}/c{cin}-{mid}-{cout}/s{stride}/{'ds' if first else 'id'}"

    def blocks(self, config: Config) -> list[str]:
        cfg, a = check_config(self.net.space(), config), self.args
        sizes = self._sizes(cfg["resolution"])
        stem = make_divisible(a.stem_channels * cfg["width"][0])
        keys, cin, slot = [f"stem/r{cfg['resolution']}/c{stem}"], stem, 0
        for s, extra in enumerate(cfg["extra_depth"]):
            cout = make_divisible(a.stage_channels[s] * cfg["width"][s + 1])
            for i in range(a.base_depths[s] + extra):
                mid = make_divisible(cout * cfg["expand"][slot + i])
                n = sizes[s] if i == 0 else sizes[s + 1]
                keys.append(self._block_key(n, cin, cout, mid, a.stage_strides[s] if i == 0 else 1, i == 0))
                cin = cout
            slot += self.net.max_depths[s]
        return [*keys, f"head/n{sizes[-1]}/c{cin}"]

    def all_blocks(self) -> dict[str, BlockSpec]:
        a, net, out = self.args, self.net, {}
        for r in sorted(a.resolutions):
            sizes = self._sizes(r)
            for w in self._stem_widths():
                key = f"stem/r{r}/c{w}"
                out[key] = BlockSpec(key, lambda w=w, r=r: (nn.Sequential(
                    net.stem_conv.export(a.in_channels, w), net.stem_bn.export(w), nn.ReLU(),
                    copy.deepcopy(net.pool)), image_input(a.in_channels, r), None))
            for c in self._widths(len(a.stage_channels) - 1):
                key = f"head/n{sizes[-1]}/c{c}"
                out[key] = BlockSpec(key, lambda c=c, n=sizes[-1]: (nn.Sequential(
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), net.classifier.export(c)), image_input(c, n), None))
            for s, stage in enumerate(net.stages):
                ins = self._stem_widths() if s == 0 else self._widths(s - 1)
                for cout in self._widths(s):
                    for e in a.expand_ratios:
                        mid = make_divisible(cout * e)
                        for first, cins in ((True, ins), (False, [cout])):
                            if not first and net.max_depths[s] < 2:
                                continue
                            block, n = (stage[0], sizes[s]) if first else (stage[1], sizes[s + 1])
                            stride = a.stage_strides[s] if first else 1
                            for cin in cins:
                                key = self._block_key(n, cin, cout, mid, stride, first)
                                out[key] = BlockSpec(key, lambda b=block, cin=cin, cout=cout, e=e, n=n: (
                                    b.export(cin, cout, e), image_input(cin, n), None))
        return out
