"""Retrieval agreement: how well a text sub-network preserves the full model's neighbourhoods.

For a sentence encoder, what deployments rely on is *which* sentences end up close together.
So accuracy is measured without labels as recall@k of the full model's nearest neighbours: each
query's top-k neighbours (cosine, over the whole corpus, itself excluded) under the sub-network's
embeddings are compared with its top-k under the full model's, and the overlap fraction is
averaged over queries. The full model scores exactly 1.0.

Speed: encoding the corpus dominates the cost (~21 MFLOP per token for the full MiniLM), so
the default corpus is the first 2,000 built-in sentences that fit in ``max_length=16`` tokens
uncut (docstring summary lines of 6-12 words, ~13 tokens each, ~26k tokens in all). The corpus
is tokenised once, truncated to ``max_length`` tokens, deduplicated on the truncated tokens (so
that exact ties cannot make the top-k ambiguous), sorted by length and batched with little
padding; the full model's neighbours are cached at construction. Each evaluation activates the
configuration on the shared weights (no copy) and re-encodes the corpus, which dominates the
cost. Latency is measured elsewhere, at the family's own sequence length.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import torch

from tailor.errors import ConfigError
from tailor.measure.base import Evaluator
from tailor.space import Config
from tailor.supernets.base import TextEncoder

DEFAULT_CORPUS_SIZE = 2000


@contextmanager
def _torch_threads(threads: int | None):
    old = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


class RetrievalAgreementEvaluator(Evaluator):
    """Metric ``agreement`` (max): recall@k of the full model's nearest neighbours.

    Args:
        supernet: a text supernet with ``space()``, ``activate(config)``, ``forward(input_ids,
            attention_mask)`` returning embeddings, and ``tokenize(sentences, max_length)``
            (e.g. the ``transformer`` family).
        corpus: the sentences; ``None`` for the first 2,000 sentences of the built-in stdlib
            corpus that fit in ``max_length`` tokens without truncation.
        k: neighbours per query.
        n_queries: queries (the first ones of the corpus); ``None`` for every sentence. The
            neighbours are always searched over the whole corpus.
        max_length: tokens per sentence, [CLS] and [SEP] included (longer ones are truncated).
        batch_size: sentences per forward pass.
        threads: torch intra-op threads while evaluating (``None``: leave torch's setting).
            1 by default: on a shared machine two threads were 2.5x *slower* than one (threads
            wait on each other); on an idle 2-core machine ``threads=2`` is faster.
        reference: the configuration whose neighbours count as truth; ``None`` for the largest
            (``space().extreme("max")``).
        reference_model: a standalone model ``model(input_ids, attention_mask)`` whose neighbours
            count as truth instead (e.g. the original pre-trained encoder when the super-network's
            weights were trained, so that its largest sub-network is scored too).
        n_sentences: size of the default corpus (ignored when ``corpus`` is given); the cost of
            an evaluation is proportional to it.
    """

    metrics = {"agreement": "max"}
    expensive = True

    def __init__(
        self,
        supernet: Any,
        corpus: Sequence[str] | None = None,
        k: int = 10,
        n_queries: int | None = None,
        max_length: int = 16,
        batch_size: int = 128,
        threads: int | None = 1,
        reference: Config | None = None,
        n_sentences: int = DEFAULT_CORPUS_SIZE,
        reference_model: Any = None,
    ):
        if not isinstance(supernet, TextEncoder):
            raise ConfigError("supernet", "retrieval agreement needs a text encoder (tokenize, active_config, "
                              "describe: tailor.supernets.base.TextEncoder)")
        for field, value, low in (
            ("k", k, 1),
            ("max_length", max_length, 2),
            ("batch_size", batch_size, 1),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(f"retrieval.{field}", f"must be an integer >= {low}, got {value!r}")
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ConfigError("retrieval.threads", f"must be a positive integer or None, got {threads!r}")
        self.supernet = supernet
        self.k, self.max_length, self.batch_size, self.threads = k, max_length, batch_size, threads
        if corpus is None:
            if not isinstance(n_sentences, int) or n_sentences <= k:
                raise ConfigError("retrieval.n_sentences", f"must be an integer > k={k}, got {n_sentences!r}")
            corpus = self._default_corpus(n_sentences)
        self._batches, self.n_sentences = self._prepare(list(corpus))
        if self.n_sentences <= k:
            raise ConfigError(
                "retrieval.corpus",
                f"needs more than k={k} distinct sentences, got {self.n_sentences}",
            )
        if n_queries is not None and (not isinstance(n_queries, int) or not 1 <= n_queries <= self.n_sentences):
            raise ConfigError(
                "retrieval.n_queries",
                f"must be in 1..{self.n_sentences} or None, got {n_queries!r}",
            )
        self.n_queries = self.n_sentences if n_queries is None else n_queries
        self.reference = supernet.space().extreme("max") if reference is None else dict(reference)
        self.external_reference = reference_model is not None
        truth = self.embed_model(reference_model) if self.external_reference else self.embed(self.reference)
        self._reference_topk = self._topk(truth)

    def _default_corpus(self, n: int) -> list[str]:
        """The first ``n`` built-in sentences that fit in ``max_length`` tokens uncut."""
        from tailor.data import load_corpus

        sentences = load_corpus()
        _, mask = self.supernet.tokenize(sentences, max_length=self.max_length + 1)
        fits = [s for s, n in zip(sentences, mask.sum(1).tolist(), strict=True) if n <= self.max_length]
        if len(fits) < n:
            raise ConfigError(
                "retrieval.n_sentences",
                f"only {len(fits)} built-in sentences fit in {self.max_length} tokens",
            )
        return fits[:n]

    def _prepare(self, corpus: list[str]) -> tuple[list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]], int]:
        """Tokenise once; drop sentences whose truncated tokens repeat; batch by length."""
        if not corpus or not all(isinstance(s, str) and s.strip() for s in corpus):
            raise ConfigError("retrieval.corpus", "must be a non-empty list of non-empty strings")
        ids, mask = self.supernet.tokenize(corpus, max_length=self.max_length)
        lengths = mask.sum(1)
        seen: set[tuple[int, ...]] = set()
        keep = []
        for i in range(len(corpus)):
            key = tuple(ids[i, : lengths[i]].tolist())
            if key not in seen:
                seen.add(key)
                keep.append(i)
        self.corpus_fingerprint = hashlib.sha1("\n".join(corpus[i] for i in keep).encode()).hexdigest()[:12]
        # position in the kept list, sorted by length: batches with little padding
        order = sorted(range(len(keep)), key=lambda j: (int(lengths[keep[j]]), j))
        batches = []
        for start in range(0, len(order), self.batch_size):
            pos = torch.tensor(order[start : start + self.batch_size])
            rows = torch.tensor([keep[j] for j in pos.tolist()])
            t = int(lengths[rows].max())
            batches.append((pos, ids[rows, :t].contiguous(), mask[rows, :t].contiguous()))
        return batches, len(keep)

    @torch.inference_mode()
    def embed(self, config: Config) -> torch.Tensor:
        """The corpus embedded by sub-network ``config`` (activated in place, then restored)."""
        net = self.supernet
        previous = net.active_config
        with _torch_threads(self.threads):
            net.activate(config)
            try:
                return self._encode(net)
            finally:
                net.activate(previous)

    @torch.inference_mode()
    def embed_model(self, model: Any) -> torch.Tensor:
        """The corpus embedded by a standalone model ``model(input_ids, attention_mask)``, e.g. an
        exported sub-network."""
        with _torch_threads(self.threads):
            return self._encode(model)

    def _encode(self, model: Any) -> torch.Tensor:
        out: torch.Tensor | None = None
        for pos, ids, mask in self._batches:
            emb = model(ids, mask)
            if out is None:
                out = torch.empty(self.n_sentences, emb.shape[1])
            out[pos] = emb
        return torch.nn.functional.normalize(out, dim=1)

    def _topk(self, emb: torch.Tensor) -> torch.Tensor:
        sims = emb[: self.n_queries] @ emb.T  # (Q, N)
        sims[torch.arange(self.n_queries), torch.arange(self.n_queries)] = -float("inf")
        return sims.topk(self.k, dim=1).indices  # (Q, k)

    def agreement(self, config: Config) -> float:
        return self._agreement(self.embed(config))

    def score(self, model: Any, config: Config | None = None) -> float:
        """Agreement of a standalone model (e.g. what ``tailor export`` wrote) with the reference."""
        return self._agreement(self.embed_model(model))

    def _agreement(self, emb: torch.Tensor) -> float:
        topk = self._topk(emb)
        hits = (topk[:, :, None] == self._reference_topk[:, None, :]).any(-1).sum(-1)  # (Q,)
        return float(hits.double().mean() / self.k)

    def evaluate(self, configs: Sequence[Config]) -> list[dict[str, float]]:
        return [{"agreement": self.agreement(c)} for c in configs]

    def fingerprint(self) -> str:
        # the supernet's own settings (e.g. how heads were ranked) change every sub-network
        net = hashlib.sha1(repr(sorted(self.supernet.describe().items())).encode()).hexdigest()[:8]
        return (
            f"RetrievalAgreement(k={self.k},n={self.n_sentences},q={self.n_queries},"
            f"len={self.max_length},corpus={self.corpus_fingerprint},net={net}"
            + (",ref=model)" if self.external_reference else ")")
        )
