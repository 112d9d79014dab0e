"""Knowledge distillation of the elastic MiniLM (``transformer``) into a super-network.

The ``transformer`` family's sub-networks are prefix slices of the pre-trained model after its
heads and neurons are re-ordered by importance; they were never trained to work at those widths
and depths. ``DistillTrainer`` trains them, as DynaBERT does, by distilling the frozen original
model into many sub-networks at once:

1. Importance re-ordering first (the family's own ``_rank``, unchanged), so that every sub-network
   starts from the most important heads and neurons.
2. Per optimiser step, one batch of sentences and the path sampler's sub-networks (sandwich by
   default: the largest, the smallest and ``num_random`` random ones, depth included; ``spos`` and
   ``padad`` from ``tailor.train.paths`` too). Their gradients are summed, then clipped and applied.
3. The teacher is the frozen original encoder (a copy of the layers before training). The word
   embeddings stay frozen (the teacher's too), so the embedding output is computed once per
   batch under ``no_grad`` and shared by the teacher and every student path; only the encoder
   layers train, which is also all that ``export_weights`` has to ship.
4. Loss per sub-network (weights in ``DistillConfig``): the cosine distance of its sentence
   embedding to the teacher's, the squared error of its in-batch cosine-similarity matrix to the
   teacher's (retrieval agreement is about which sentences are close, so the *relations* are
   distilled directly), and the squared error of its last hidden states (token level, masked) to
   the teacher's. The largest sub-network is trained towards the teacher as well, so it keeps
   computing (almost) the original function.

Data: the built-in corpus' ``train`` slice (``tailor.data.text.split_corpus``: never the sentences
retrieval agreement is measured on, nor those that rank importance), plus ``--data`` text. Each
step's batch and paths are drawn from ``default_rng([seed, step])``, so a resumed run repeats the
same steps; the checkpoint (``<out>/last.pt``, atomic) holds the trainable weights, optimiser,
schedule, step, path-sampler state and history, written every ``checkpoint_every`` steps.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import math
import resource
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tailor.errors import ConfigError
from tailor.optim import build_optimizer
from tailor.space import Config
from tailor.train.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from tailor.train.paths import PathSampler, make_path_sampler

logger = logging.getLogger(__name__)

DISTILL_SAMPLERS = ("sandwich", "spos", "padad")
BATCHINGS = ("random", "neighbourhood")
WEIGHTS_FORMAT = "tailor.elastic-minilm/1"
WEIGHTS_NAME = "elastic_layers.safetensors"
KIND = "distill-transformer"
# ElasticTransformerConfig fields a distillation run may set (``weights`` is what it produces)
SUPERNET_FIELDS = ("checkpoint", "depths", "heads", "ffn", "importance", "n_calibration", "weights")

StepCallback = Callable[[int, int, float], None]  # (step, total steps, loss)
EvalCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class DistillConfig:
    """Settings of one distillation run; stored in every checkpoint (a resume must match them,
    except ``steps``, which may be extended, and ``eval_every``/``checkpoint_every``).

    Args:
        supernet_kwargs: ``ElasticTransformerConfig`` fields (checkpoint, depths, heads, ffn,
            importance, n_calibration, weights). ``weights`` (a ``.safetensors`` file an earlier run
            wrote, or ``trained``) starts from those layers: a second stage; the teacher is still
            the original model.
        data: the user's text files or folders, added to the corpus' training slice.
        sampler: ``sandwich`` (largest + smallest + ``num_random`` random paths), ``spos`` (one
            random path) or ``padad`` (PA&DA path importance sampling).
        steps, batch_size, lr, warmup_steps, weight_decay: optimiser steps, sentences per step,
            peak learning rate after a linear warm-up, then cosine decay to 0.
        optimizer: ``adamw``, or a name ``tailor.optim.build_optimizer`` knows (``optimizer_rank``
            is passed to it for low-rank optimisers).
        max_length: tokens per training sentence.
        w_embedding, w_similarity, w_hidden: loss weights (see the module docstring).
        w_neighbour, temperature: weight of the neighbour loss, KL(teacher || student) between the
            softmax(similarity / temperature) of each sentence's embedding to a bank of the teacher's
            embeddings of every training sentence: recall@k is about which sentences are nearest,
            and the bank holds the near ones a random batch rarely does.
        batching: ``random`` sentences, or ``neighbourhood``: ``batch_size / group_size`` random
            anchors, each with its ``group_size - 1`` nearest training sentences under the teacher,
            so the in-batch similarity loss sees near-ties, the pairs recall@k must order.
        w_largest: the largest sub-network's loss is multiplied by it: the small paths' gradients
            pull the shared weights away from the original function, and this holds it in place.
        min_depth: paths are sampled with ``depth >= min_depth`` (the sandwich's smallest too). A
            depth-1 sub-network runs the last layer alone on the embeddings; training it pulls that
            layer (shared by every depth) 3x further from the original than any other layer.
        grad_clip: max gradient norm (0 disables).
        n_val: held-out sentences scored every ``eval_every`` steps (largest, middle, smallest).
        checkpoint_every: steps between checkpoints (a ``kill -9`` loses at most this many).
        seed: seeds batches and paths.
    """

    supernet_kwargs: Mapping[str, Any] = field(default_factory=dict)
    data: tuple[str, ...] = ()
    sampler: str = "sandwich"
    num_random: int = 2
    steps: int = 600
    batch_size: int = 32
    lr: float = 1e-4
    warmup_steps: int = 30
    weight_decay: float = 0.01
    optimizer: str = "adamw"
    optimizer_rank: int = 64
    max_length: int = 32
    w_embedding: float = 1.0
    w_similarity: float = 10.0
    w_hidden: float = 1.0
    w_largest: float = 10.0
    w_neighbour: float = 0.0
    temperature: float = 0.05
    batching: str = "random"
    group_size: int = 8
    min_depth: int = 2
    grad_clip: float = 1.0
    n_val: int = 500
    eval_every: int = 100
    checkpoint_every: int = 25
    seed: int = 0

    RESUMABLE = ("steps", "eval_every", "checkpoint_every")

    def __post_init__(self) -> None:
        if self.batching not in BATCHINGS:
            raise ConfigError("batching", f"unknown batching {self.batching!r}", BATCHINGS)
        if isinstance(self.group_size, bool) or not isinstance(self.group_size, int) or self.group_size < 2 or \
                (self.batching == "neighbourhood" and self.group_size > self.batch_size):
            raise ConfigError("group_size", f"must be an integer >= 2 and at most batch_size, got {self.group_size!r}")
        if not (isinstance(self.temperature, (int, float)) and self.temperature > 0):
            raise ConfigError("temperature", f"must be > 0, got {self.temperature!r}")
        if self.sampler not in DISTILL_SAMPLERS:
            raise ConfigError("sampler", f"unknown sampler {self.sampler!r} for the transformer family",
                              DISTILL_SAMPLERS)
        for name in ("steps", "batch_size", "eval_every", "checkpoint_every", "optimizer_rank"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(name, f"must be a positive integer, got {value!r}")
        if self.batch_size < 2:
            raise ConfigError("batch_size", "must be at least 2 (the similarity loss compares sentences)")
        if isinstance(self.min_depth, bool) or not isinstance(self.min_depth, int) or self.min_depth < 1:
            raise ConfigError("min_depth", f"must be a positive integer, got {self.min_depth!r}")
        for name in ("num_random", "warmup_steps", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(name, f"must be an integer >= 0, got {value!r}")
        if not isinstance(self.max_length, int) or not 4 <= self.max_length <= 512:
            raise ConfigError("max_length", f"must be an integer in 4..512, got {self.max_length!r}")
        if not isinstance(self.n_val, int) or self.n_val < 20:
            raise ConfigError("n_val", f"must be an integer >= 20, got {self.n_val!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ConfigError("lr", f"must be > 0, got {self.lr!r}")
        for name in ("weight_decay", "w_embedding", "w_similarity", "w_hidden", "w_largest", "w_neighbour",
                     "grad_clip"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(name, f"must be >= 0, got {value!r}")
        if self.w_embedding + self.w_similarity + self.w_hidden + self.w_neighbour <= 0:
            raise ConfigError("w_embedding", "at least one loss weight must be > 0")
        unknown = set(self.supernet_kwargs) - set(SUPERNET_FIELDS)
        if unknown:
            raise ConfigError("supernet-args", f"unknown or not trainable option {sorted(unknown)[0]!r}",
                              SUPERNET_FIELDS)
        object.__setattr__(self, "supernet_kwargs", dict(self.supernet_kwargs))
        object.__setattr__(self, "data", tuple(str(d) for d in self.data))

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DistillConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ConfigError("checkpoint", f"unknown setting {sorted(unknown)[0]!r}", sorted(names))
        return cls(**{k: tuple(v) if k == "data" else v for k, v in data.items()})

    def differences(self, other: DistillConfig) -> list[str]:
        a, b = self.to_dict(), other.to_dict()
        return [k for k in a if a[k] != b[k] and k not in self.RESUMABLE]


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    span = max(total - warmup, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(step - warmup, span) / span))


def middle_config(space: Any) -> Config:
    """Every choice at its middle value (index ``len // 2``): the progress bar's middle sub-network."""
    genes = np.asarray(space.cardinalities, dtype=np.int64) // 2
    return space.canonical(space.from_genes(genes))


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB, macOS bytes)."""
    import sys

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def _run_layers(layers: Sequence[nn.Module], x: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(last hidden states (B, T, H), unit-norm mean-pooled embeddings (B, H))``, as ``_Encoder``."""
    bias = (1.0 - m[:, None, None, :]) * torch.finfo(x.dtype).min  # (B, 1, 1, T)
    for layer in layers:
        x = layer(x, bias)
    pooled = (x * m[..., None]).sum(1) / m.sum(1, keepdim=True).clamp(min=1e-9)
    return x, F.normalize(pooled, p=2, dim=1)


def _nearest(emb: torch.Tensor, k: int, chunk: int = 1024) -> np.ndarray:
    """Each row's ``k`` most similar other rows (unit-norm embeddings), ``(N, k)``."""
    out = []
    for i in range(0, len(emb), chunk):
        sims = emb[i:i + chunk] @ emb.T
        sims[torch.arange(len(sims)), torch.arange(i, i + len(sims))] = float("-inf")
        out.append(sims.topk(k, dim=1).indices)
    return torch.cat(out).numpy()


def neighbour_loss(emb: torch.Tensor, t_emb: torch.Tensor, bank: torch.Tensor, self_index: torch.Tensor,
                   temperature: float) -> torch.Tensor:
    """Mean KL(teacher || student) of each sentence's softmax(similarity / temperature) over the
    teacher's embedding bank, the sentence itself left out."""
    self_mask = torch.zeros(len(emb), len(bank), dtype=torch.bool)
    self_mask[torch.arange(len(emb)), self_index] = True
    t_logp = F.log_softmax((t_emb @ bank.T / temperature).masked_fill(self_mask, -1e9), dim=1)
    s_logp = F.log_softmax((emb @ bank.T / temperature).masked_fill(self_mask, -1e9), dim=1)
    return F.kl_div(s_logp, t_logp, reduction="batchmean", log_target=True)


def distill_loss(hidden: torch.Tensor, emb: torch.Tensor, t_hidden: torch.Tensor, t_emb: torch.Tensor,
                 m: torch.Tensor, cfg: DistillConfig, bank: torch.Tensor | None = None,
                 self_index: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """The weighted sum of the terms, and each term's value."""
    cos = (1.0 - (emb * t_emb).sum(1)).mean()
    sim = F.mse_loss(emb @ emb.T, t_emb @ t_emb.T)
    hid = (((hidden - t_hidden) ** 2).mean(-1) * m).sum() / m.sum()
    loss = cfg.w_embedding * cos + cfg.w_similarity * sim + cfg.w_hidden * hid
    terms = {"cos": float(cos.detach()), "sim": float(sim.detach()), "hidden": float(hid.detach())}
    if cfg.w_neighbour > 0 and bank is not None and self_index is not None:
        nb = neighbour_loss(emb, t_emb, bank, self_index, cfg.temperature)
        loss = loss + cfg.w_neighbour * nb
        terms["neighbour"] = float(nb.detach())
    return loss, terms


class DistillTrainer:
    """Distils the original MiniLM into its elastic super-network as ``config`` says.

    Args:
        config: the run's settings.
        out_dir: checkpoint folder (``None``: no checkpoints, no resume).
        supernet: an ``ElasticTransformer`` with the original weights (tests reuse one); by default
            built from ``config.supernet_kwargs``.
        split: the corpus split (tests pass a small one); by default ``split_corpus``.
    """

    def __init__(self, config: DistillConfig, out_dir: str | Path | None = None, supernet: nn.Module | None = None,
                 split: Any = None):
        from tailor.data.text import read_text_data, split_corpus
        from tailor.measure.retrieval import RetrievalAgreementEvaluator
        from tailor.supernets.transformer import ElasticTransformer, ElasticTransformerConfig, _Encoder

        self.config = config
        self.out_dir = None if out_dir is None else Path(out_dir)
        extra = read_text_data(config.data) if config.data else []  # bad data fails before the model loads
        if supernet is None:
            supernet = ElasticTransformer(ElasticTransformerConfig(**config.supernet_kwargs))
        self.supernet = supernet
        net = supernet
        self.split = split if split is not None else split_corpus(
            net.tokenize, n_val=config.n_val, n_calibration=net.cfg.n_calibration)
        self.sentences = list(self.split.train) + extra
        self.n_user = len(extra)
        if len(self.sentences) < config.batch_size:
            raise ConfigError("data", f"{len(self.sentences)} training sentences, fewer than one batch "
                              f"of {config.batch_size}")
        # the teacher: the original (re-ordered: same function) layers, frozen; embeddings are shared
        if net.weights_file is None:
            self.teacher_layers = copy.deepcopy(net.layers)
        else:  # a second stage: the student starts from trained layers, the teacher stays the original
            base = {k: v for k, v in config.supernet_kwargs.items() if k == "checkpoint"}
            self.teacher_layers = ElasticTransformer(ElasticTransformerConfig(**base, importance="magnitude")).layers
        self.teacher_layers.eval().requires_grad_(False)
        net.original_full_model = False  # a second stage trains (and reports) the shared largest too
        net.embeddings.requires_grad_(False)
        net.layers.requires_grad_(True)
        self.teacher = _Encoder(net.embeddings, list(self.teacher_layers)).eval()
        self.space = net.training_space(config.min_depth)
        self.largest = self.space.extreme("max")
        self.smallest = self.space.extreme("min")  # of the trained range
        self.middle = middle_config(self.space)
        self.probes = {"largest": self.largest, "middle": self.middle, "smallest": self.smallest}
        opts: dict[str, Any] = {}
        if config.sampler == "sandwich":  # every path learns from the frozen teacher, none in place
            opts = {"num_random": config.num_random, "distill": False}
        self.path_sampler: PathSampler = make_path_sampler(config.sampler, self.space, net, **opts)
        self.optimizer = build_optimizer(config.optimizer, net.layers, config.lr, config.weight_decay,
                                         None if config.optimizer == "adamw" else config.optimizer_rank)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, config.warmup_steps, config.steps))
        self.val = RetrievalAgreementEvaluator(net, corpus=list(self.split.val), reference_model=self.teacher,
                                               threads=None)
        self.bank: torch.Tensor | None = None  # the teacher's embedding of every training sentence
        self.neighbours: np.ndarray | None = None  # (N, group_size - 1) nearest under the teacher
        if config.w_neighbour > 0 or config.batching == "neighbourhood":
            self.bank = self._teacher_bank()
        if config.batching == "neighbourhood":
            self.neighbours = _nearest(self.bank, config.group_size - 1)
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self._train_seconds = 0.0

    @torch.no_grad()
    def _teacher_bank(self, chunk: int = 256) -> torch.Tensor:
        net, parts = self.supernet, []
        for i in range(0, len(self.sentences), chunk):
            ids, mask = net.tokenize(self.sentences[i:i + chunk], max_length=self.config.max_length)
            m = mask.to(torch.float32)
            parts.append(_run_layers(list(self.teacher_layers), net.embeddings(ids), m)[1])
        return torch.cat(parts)

    # ------------------------------------------------------------------ checkpoints
    @property
    def checkpoint_path(self) -> Path | None:
        return None if self.out_dir is None else self.out_dir / CHECKPOINT_NAME

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "model": self.supernet.layers.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": len(self.history),
            "step": self.step,
            "config": self.config.to_dict(),
            "path_sampler": self.path_sampler.state_dict(),
            "data_sampler": {"name": "uniform", "rng": "default_rng([seed, step])"},  # stateless
            "rng": {"scheme": "default_rng([seed, step])"},
            "history": self.history,
            "train_seconds": self._train_seconds,
        }

    def load_state_dict(self, state: dict[str, Any], path: Path) -> None:
        if state.get("kind") != KIND:
            raise ConfigError("checkpoint", f"{path} is not a transformer distillation checkpoint; "
                              "use --no-resume or another --out")
        diff = self.config.differences(DistillConfig.from_dict(state["config"]))
        if diff:
            raise ConfigError("resume", f"{path} was trained with another {diff[0]!r}; "
                              "use --no-resume or another --out")
        try:
            self.supernet.layers.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise ConfigError("checkpoint", f"{path} does not fit this super-network: {e}") from None
        # a resume may extend ``steps``: the schedule follows the new total
        self.scheduler.lr_lambdas[0] = lambda s: lr_factor(s, self.config.warmup_steps, self.config.steps)
        self.path_sampler.load_state_dict(state["path_sampler"])
        self.step = int(state["step"])
        self.history = list(state.get("history", []))
        self._train_seconds = float(state.get("train_seconds", 0.0))

    def save(self) -> Path | None:
        path = self.checkpoint_path
        if path is not None:
            save_checkpoint(path, self.state_dict())
        return path

    # ------------------------------------------------------------------ training
    def batch(self, step: int) -> tuple[np.random.Generator, np.ndarray]:
        """Step ``step``'s random stream and sentence indices (a function of seed and step only)."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, step])
        if self.neighbours is None:
            return rng, rng.choice(len(self.sentences), size=cfg.batch_size, replace=False)
        anchors = rng.choice(len(self.sentences), size=-(-cfg.batch_size // cfg.group_size), replace=False)
        groups = np.concatenate([anchors[:, None], self.neighbours[anchors]], axis=1)
        return rng, groups.reshape(-1)[:cfg.batch_size]

    def train_step(self) -> dict[str, float]:
        cfg, net = self.config, self.supernet
        rng, idx = self.batch(self.step)
        ids, mask = net.tokenize([self.sentences[i] for i in idx], max_length=cfg.max_length)
        self_index = torch.as_tensor(idx, dtype=torch.long)
        m = mask.to(torch.float32)
        with torch.no_grad():
            x0 = net.embeddings(ids)
            t_hidden, t_emb = _run_layers(list(self.teacher_layers), x0, m)
        self.path_sampler.set_progress(self.step / cfg.steps)
        configs = self.path_sampler.plan(rng)
        self.optimizer.zero_grad(set_to_none=True)
        net.train()
        total, parts = 0.0, {"cos": 0.0, "sim": 0.0, "hidden": 0.0}
        if self.bank is not None and cfg.w_neighbour > 0:
            parts["neighbour"] = 0.0
        try:
            for config in configs:
                net.activate(config)
                hidden, emb = _run_layers(net.elastic_layers(), x0, m)
                loss, terms = distill_loss(hidden, emb, t_hidden, t_emb, m, cfg, self.bank, self_index)
                if config == self.largest:
                    loss = cfg.w_largest * loss
                loss.backward()
                total += float(loss.detach())
                for k, v in terms.items():
                    parts[k] += v / len(configs)
            self.path_sampler.after_backward(net, configs)
        finally:
            net.activate(self.largest)
            net.eval()
        if cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(net.layers.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        if not math.isfinite(total):
            raise FloatingPointError(f"loss became {total} at step {self.step}; lower --lr")
        return {"loss": total, **parts}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Agreement with the teacher on the held-out ``val`` slice: largest, middle, smallest."""
        return {name: self.val.agreement(c) for name, c in self.probes.items()}

    def run(self, resume: bool = True, on_step: StepCallback | None = None,
            on_eval: EvalCallback | None = None) -> dict[str, Any]:
        """Train to ``config.steps`` (resuming from ``out_dir/last.pt`` when ``resume``); returns a
        summary (steps, resumed_from, seconds, peak RSS, the last evaluation)."""
        cfg = self.config
        path = self.checkpoint_path
        resumed = None
        if resume and path is not None and path.exists():
            self.load_state_dict(load_checkpoint(path), path)
            resumed = self.step
            logger.info("resumed from %s at step %d", path, self.step)
        if not self.history:
            record = {"step": 0, "loss": None, "agreement": self.evaluate(), "seconds": 0.0}
            self.history.append(record)
            if on_eval is not None:
                on_eval(record)
        losses: list[float] = []
        while self.step < cfg.steps:
            t0 = time.perf_counter()
            terms = self.train_step()
            self._train_seconds += time.perf_counter() - t0
            losses.append(terms["loss"])
            if on_step is not None:
                on_step(self.step, cfg.steps, terms["loss"])
            if self.step % cfg.eval_every == 0 or self.step == cfg.steps:
                record = {"step": self.step, "loss": float(np.mean(losses)) if losses else None,
                          "terms": terms, "agreement": self.evaluate(), "seconds": self._train_seconds,
                          "lr": float(self.scheduler.get_last_lr()[0]), "peak_rss_mb": peak_rss_mb()}
                losses = []
                self.history.append(record)
                self.save()
                if on_eval is not None:
                    on_eval(record)
            elif self.step % cfg.checkpoint_every == 0:
                self.save()
        return {"steps": self.step, "resumed_from": resumed, "train_seconds": self._train_seconds,
                "peak_rss_mb": peak_rss_mb(), "history": self.history, "checkpoint": path}

    # ------------------------------------------------------------------ shipping
    def export_weights(self, file: str | Path, command: str | None = None) -> Path:
        """Write the trained layers (fp16 safetensors, the only weights that differ from the
        pre-trained checkpoint, in importance order) with the metadata that loads them."""
        return save_elastic_layers(self.supernet, file, {"command": command or "", "steps": self.step,
                                                         "sampler": self.config.sampler})


def _base_digest(checkpoint_dir: Path) -> str:
    """SHA-256 prefix of the pre-trained ``model.safetensors`` the layers were trained from."""
    h = hashlib.sha256()
    with open(checkpoint_dir / "model.safetensors", "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def save_elastic_layers(net: Any, file: str | Path, info: Mapping[str, Any] | None = None) -> Path:
    """The super-network's encoder layers as fp16 safetensors (atomic), with JSON metadata: the
    format, the family settings they belong to and the base checkpoint's digest."""
    import os
    import tempfile

    from safetensors.torch import save_file

    from tailor.supernets.transformer import default_checkpoint

    base = Path(net.cfg.checkpoint) if net.cfg.checkpoint is not None else default_checkpoint()
    tensors = {f"layers.{k}": v.detach().to(torch.float16).contiguous() for k, v in net.layers.state_dict().items()}
    meta = {"format": WEIGHTS_FORMAT, "base_sha256": _base_digest(base),
            "supernet": json.dumps({k: v for k, v in dataclasses.asdict(net.cfg).items()
                                    if k in SUPERNET_FIELDS and k != "weights"}),
            "info": json.dumps(dict(info or {}))}
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=meta)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return file
