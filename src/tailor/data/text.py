"""Text for training sentence encoders: the built-in corpus split into disjoint parts, plus user text.

The built-in corpus (``tailor.data.corpus``) serves three purposes that must never see each other's
sentences, so ``split_corpus`` cuts it into explicit, disjoint slices (corpus order is a fixed
pseudo-random order, so each slice is topic-mixed):

* ``test``: the corpus prefix that ``RetrievalAgreementEvaluator``'s default set is drawn from (the
  first 2,000 sentences that fit in 16 tokens uncut), up to and including the last one it uses.
  Every agreement number a study or benchmark reports is measured here; training never sees it.
* ``calibration``: the corpus' last ``n_calibration`` sentences, which rank heads and neurons by
  importance (``ElasticTransformer``).
* ``val``: the ``n_val`` sentences right after ``test``: the held-out slice whose agreement the
  training progress reports (so that model selection never looks at ``test``).
* ``train``: everything in between.

``read_text_data`` adds the user's own text (``--data FILE|DIR``): a file with one sentence per
line, or a folder whose ``.txt`` files (recursively, sorted) are read that way. Empty, binary or
unreadable data is a ``ConfigError`` naming the path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from tailor.errors import ConfigError

Tokenize = Callable[[Sequence[str], int], tuple[torch.Tensor, torch.Tensor]]

EVAL_SENTENCES = 2000  # RetrievalAgreementEvaluator's default corpus size
EVAL_MAX_LENGTH = 16  # ... and its tokens per sentence
MAX_FILE_BYTES = 200 * 2**20


@dataclass(frozen=True)
class CorpusSplit:
    """Disjoint slices of the built-in corpus (see the module docstring); ``test_end`` is the
    corpus index where ``val`` starts."""

    test: list[str]
    val: list[str]
    train: list[str]
    calibration: list[str]

    @property
    def test_end(self) -> int:
        return len(self.test)


def agreement_prefix_end(sentences: Sequence[str], tokenize: Tokenize, n: int = EVAL_SENTENCES,
                         max_length: int = EVAL_MAX_LENGTH) -> int:
    """One past the corpus index of the ``n``-th sentence that fits ``max_length`` tokens uncut: the
    prefix that ``RetrievalAgreementEvaluator``'s default corpus is drawn from."""
    _, mask = tokenize(list(sentences), max_length + 1)
    fits = (mask.sum(1) <= max_length).nonzero().flatten()
    if len(fits) < n:
        raise ConfigError("corpus", f"only {len(fits)} sentences fit in {max_length} tokens, {n} needed")
    return int(fits[n - 1]) + 1


def split_corpus(tokenize: Tokenize, sentences: Sequence[str] | None = None, n_val: int = 500,
                 n_calibration: int = 256) -> CorpusSplit:
    """The built-in corpus (or ``sentences``, in corpus order) cut into test / val / train / calibration.

    Raises:
        ConfigError: the corpus is too small to leave any training sentence.
    """
    if sentences is None:
        from tailor.data.corpus import load_corpus

        sentences = load_corpus()
    sentences = list(sentences)
    end = agreement_prefix_end(sentences, tokenize)
    train_end = len(sentences) - n_calibration
    if end + n_val >= train_end:
        raise ConfigError("corpus", f"{len(sentences)} sentences leave nothing to train on after the "
                          f"test ({end}), val ({n_val}) and calibration ({n_calibration}) slices")
    return CorpusSplit(test=sentences[:end], val=sentences[end : end + n_val],
                       train=sentences[end + n_val : train_end], calibration=sentences[train_end:])


def _text_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.txt") if p.is_file())
    return [path]


def _read_lines(file: Path) -> list[str]:
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError("data", f"{file} is larger than {MAX_FILE_BYTES // 2**20} MB")
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError("data", f"cannot read {file}: {exc.strerror or exc}") from None
    if b"\x00" in raw[:65536]:
        raise ConfigError("data", f"{file} is binary, not text (one sentence per line expected)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("data", f"{file} is not UTF-8 text (one sentence per line expected)") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_text_data(paths: Sequence[str | Path]) -> list[str]:
    """Sentences from the user's files or folders (one per line; folders: their ``.txt`` files),
    in order, blank lines dropped, duplicates kept once.

    Raises:
        ConfigError: a path is missing, unreadable, binary, not UTF-8, or holds no text at all.
    """
    out: list[str] = []
    seen: set[str] = set()
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise ConfigError("data", f"no such file or folder: {path}")
        files = _text_files(path)
        if not files:
            raise ConfigError("data", f"{path} holds no .txt file")
        lines = [line for f in files for line in _read_lines(f)]
        if not lines:
            raise ConfigError("data", f"{path} holds no text (one sentence per line expected)")
        for line in lines:
            if line not in seen:
                seen.add(line)
                out.append(line)
    return out
