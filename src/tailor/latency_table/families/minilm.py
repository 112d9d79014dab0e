"""MiniLM (``transformer``) blocks: embeddings, one encoder layer per (heads, FFN width) at the
sequence length, and masked mean pooling. Depth only changes how many layer entries are summed."""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tailor.latency_table.blocks import BlockSpec, register_blocks
from tailor.space import Config


class _Embed(nn.Module):
    def __init__(self, embeddings: nn.Module):
        super().__init__()
        self.embeddings = embeddings

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.embeddings(input_ids)  # (B, T, H)


class _LayerBlock(nn.Module):
    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        m = attention_mask.to(x.dtype)
        bias = (1.0 - m[:, None, None, :]) * torch.finfo(x.dtype).min  # (B, 1, 1, T)
        return self.layer(x, bias, None)


class _Pool(nn.Module):
    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        m = attention_mask.to(x.dtype)
        pooled = (x * m[..., None]).sum(1) / m.sum(1, keepdim=True).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=1)


@register_blocks("transformer")
class MiniLMBlocks:
    family = "transformer"

    def __init__(self, net: Any):
        self.net = net

    def options(self) -> dict[str, Any]:
        c = self.net.cfg
        return {"hidden": self.net.hidden, "n_layers": self.net.n_layers, "depths": list(c.depths),
                "heads": list(c.heads), "ffn": list(c.ffn), "seq_len": c.seq_len}

    def blocks(self, config: Config) -> list[str]:
        n, L = self.net.n_layers, self.net.cfg.seq_len
        self.net.example_input(1, config)  # validates (ConfigError names the bad field)
        cfg = config
        used = sorted(set(range(cfg["depth"] - 1)) | {n - 1})  # the layers transformer._used_layers runs
        return [f"embed/L{L}", *(f"layer/L{L}/h{cfg['heads'][i]}/f{cfg['ffn'][i]}" for i in used), f"pool/L{L}"]

    def all_blocks(self) -> dict[str, BlockSpec]:
        net, L, hid = self.net, self.net.cfg.seq_len, self.net.hidden
        ids, mask = net.example_input(1)
        x = torch.randn(1, L, hid, generator=torch.Generator().manual_seed(0))

        def layer(h: int, f: int) -> nn.Module:
            src = copy.deepcopy(net.layers[0])
            src.heads, src.ffn = h, f
            return _LayerBlock(src.sliced())

        out = {
            f"embed/L{L}": BlockSpec(f"embed/L{L}", lambda: (_Embed(copy.deepcopy(net.embeddings)), (ids,),
                                                             ["input_ids"])),
            f"pool/L{L}": BlockSpec(f"pool/L{L}", lambda: (_Pool(), (x, mask), ["x", "attention_mask"])),
        }
        for h in net.cfg.heads:
            for f in net.cfg.ffn:
                key = f"layer/L{L}/h{h}/f{f}"
                out[key] = BlockSpec(key, lambda h=h, f=f: (layer(h, f), (x, mask), ["x", "attention_mask"]))
        return out
