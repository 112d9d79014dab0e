"""MobileNetV3 blocks (OFA's table): stem per resolution, inverted residual per
(input size, channels in/out, stride, kernel, expand, SE/activation), final expand + head per size."""

from __future__ import annotations

import copy

from torch import nn

from tailor.latency_table.blocks import BlockSpec, ImageFamilyBlocks, conv_out, image_input, register_blocks
from tailor.space import Config
from tailor.supernets.elastic_ops import check_config


@register_blocks("mobilenetv3")
class MobileNetV3Blocks(ImageFamilyBlocks):
    family = "mobilenetv3"

    # ---------------------------------------------------------------- keys
    def _sizes(self, r: int) -> list[int]:
        """Input spatial size of each stage's first block (and, last, of the final expand)."""
        n = conv_out(r, self.args.stem_stride)
        sizes = []
        for stride in self.args.stage_strides:
            sizes.append(n)
            n = conv_out(n, stride)
        return [*sizes, n]

    def _block_key(self, s: int, i: int, n: int, k: int, e: int) -> str:
        b = self.net.stages[s][i]
        stride = self.args.stage_strides[s] if i == 0 else 1
        size = n if i == 0 else conv_out(n, self.args.stage_strides[s])
        return (f"ir/n{size}/c{b.in_ch}-{b.out_ch}/s{stride}/k{k}/e{e}/"
                f"{'se' if b.se is not None else 'nose'}/{b.act_name}")

    def blocks(self, config: Config) -> list[str]:
        cfg = check_config(self.net.space(), config)
        sizes, md = self._sizes(cfg["resolution"]), self.net.max_depth
        keys = [f"stem/r{cfg['resolution']}"]
        for s, d in enumerate(cfg["depth"]):
            for i in range(d):
                keys.append(self._block_key(s, i, sizes[s], cfg["kernel"][s * md + i], cfg["expand"][s * md + i]))
        return [*keys, f"head/n{sizes[-1]}"]

    # ---------------------------------------------------------------- builders
    def all_blocks(self) -> dict[str, BlockSpec]:
        a, net, out = self.args, self.net, {}
        for r in sorted(a.resolutions):
            sizes = self._sizes(r)
            out[f"stem/r{r}"] = BlockSpec(f"stem/r{r}", lambda r=r: (
                copy.deepcopy(net.stem), image_input(a.in_channels, r), None))
            head = nn.Sequential(copy.deepcopy(net.final_expand), copy.deepcopy(net.head))
            out[f"head/n{sizes[-1]}"] = BlockSpec(
                f"head/n{sizes[-1]}", lambda h=head, n=sizes[-1]: (h, image_input(net.stages[-1][0].out_ch, n), None))
            for s, stage in enumerate(net.stages):
                for i in (0, 1) if net.max_depth > 1 else (0,):
                    block = stage[i]
                    n_in = sizes[s] if i == 0 else conv_out(sizes[s], a.stage_strides[s])
                    for k in a.kernel_sizes:
                        for e in a.expand_ratios:
                            key = self._block_key(s, i, sizes[s], k, e)
                            out[key] = BlockSpec(key, lambda b=block, k=k, e=e, n=n_in: (
                                b.export(k, e), image_input(b.in_ch, n), None))
        return out
