"""A built-in English corpus: sentences from the docstrings of Python's standard library.

Retrieval agreement needs a few thousand real English sentences and nothing may be downloaded,
so the corpus is assembled from what every Python install ships: the docstrings of the standard
library's modules, classes and functions, read with ``ast`` (nothing is imported, so no module
side effects run). The build is deterministic for a given Python version: files are visited in
sorted order, text is cleaned, split into sentences, length-filtered and deduplicated, then put
in a fixed pseudo-random order (by SHA-1 of the sentence) so that any prefix is a topic-mixed
sample. The result is cached as a text file under the user's cache directory.
"""

from __future__ import annotations

import ast
import hashlib
import logging
import os
import re
import sys
import sysconfig
import warnings
from pathlib import Path

from tailor.errors import ConfigError

logger = logging.getLogger(__name__)

CORPUS_VERSION = 1
MIN_WORDS = 6
MAX_WORDS = 30
# Whole directories of the standard library that hold tests, vendored wheels or generated
# code: their docstrings are repetitive or not prose.
_SKIP_PARTS = frozenset(
    {
        "test",
        "tests",
        "idle_test",
        "site-packages",
        "dist-packages",
        "__pycache__",
        "encodings",
        "_bundled",
        "lib2to3",
        "__phello__",
        "turtledemo",
        "pydoc_data",
        "config-3",
    }
)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_CODE_HINTS = (">>>", "::", "==", "->", "{", "}", "[", "]", "\\", "`", "__", "$", "#", "|", "=")
_WORD = re.compile(r"[A-Za-z][a-z]+")


def _stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        # prune in place so that site-packages and test trees are never walked
        dirnames[:] = [d for d in dirnames if d not in _SKIP_PARTS and not d.startswith("config-")]
        files.extend(Path(dirpath) / f for f in filenames if f.endswith(".py"))
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def _docstrings(path: Path) -> list[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
        return []
    nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    out = []
    for node in nodes:
        doc = ast.get_docstring(node, clean=True)
        if doc:
            out.append(doc)
    return out


def _is_prose(sentence: str) -> bool:
    words = sentence.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        return False
    if not sentence[0].isupper() or sentence[-1] != ".":
        return False
    if any(h in sentence for h in _CODE_HINTS):
        return False
    letters = sum(ch.isalpha() for ch in sentence)
    if letters < 0.8 * sum(not ch.isspace() for ch in sentence):
        return False
    # most tokens must be plain lower-case words (rules out identifiers, tables, ALL CAPS)
    return sum(bool(_WORD.fullmatch(w.strip(".,;:()'\""))) for w in words) >= 0.7 * len(words)


def _sentences(doc: str) -> list[str]:
    out = []
    for para in re.split(r"\n\s*\n", doc):
        lines = para.splitlines()
        # indented lines inside a paragraph are examples or argument tables, not prose
        if any(line.startswith((" ", "\t", ">>>", "-", "*")) for line in lines):
            continue
        text = " ".join(line.strip() for line in lines)
        out.extend(s.strip() for s in _SENTENCE_SPLIT.split(text))
    return [s for s in out if _is_prose(s)]


def build_corpus() -> list[str]:
    """Assemble the corpus from the standard library (a few seconds); prefer ``load_corpus``."""
    seen: set[str] = set()
    sentences = []
    for path in _stdlib_files():
        for doc in _docstrings(path):
            for s in _sentences(doc):
                key = s.lower()
                if key not in seen:
                    seen.add(key)
                    sentences.append(s)
    return sorted(sentences, key=lambda s: hashlib.sha1(s.encode()).hexdigest())


def cache_dir() -> Path:
    """``$TAILOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/tailor``, else ``~/.cache/tailor``."""
    if os.environ.get("TAILOR_CACHE_DIR"):
        return Path(os.environ["TAILOR_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tailor"


def _cache_path() -> Path:
    version = f"py{sys.version_info.major}{sys.version_info.minor}"
    return cache_dir() / f"stdlib_corpus_v{CORPUS_VERSION}_{version}.txt"


def load_corpus(n: int | None = None, cache: bool = True) -> list[str]:
    """The built-in corpus (cached after the first build), or its first ``n`` sentences.

    Args:
        n: how many sentences (a topic-mixed prefix); ``None`` for all of them.
        cache: read/write the cache file; on any file-system error the corpus is just rebuilt.

    Raises:
        ConfigError: ``n`` is not a positive integer or exceeds the corpus size.
    """
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise ConfigError("corpus.n", f"must be a positive integer or None, got {n!r}")
    sentences = None
    path = _cache_path()
    if cache and path.is_file():
        try:
            sentences = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            sentences = None
    if not sentences:
        sentences = build_corpus()
        if cache:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".tmp{os.getpid()}")
                tmp.write_text("\n".join(sentences) + "\n", encoding="utf-8")
                os.replace(tmp, path)
            except OSError as exc:  # read-only home: fine, we rebuild next time
                logger.debug("cannot cache corpus at %s: %s", path, exc)
    if n is not None:
        if n > len(sentences):
            raise ConfigError(
                "corpus.n",
                f"the corpus holds only {len(sentences)} sentences",
                f"1..{len(sentences)}",
            )
        sentences = sentences[:n]
    return list(sentences)
