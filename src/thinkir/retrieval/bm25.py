"""BM25 backends. ``bm25s`` is the embedded default; Pyserini/Lucene is optional (``bm25-lucene`` extra).

Both score with Lucene's BM25 (k1 0.9, b 0.4 by default), English Porter-style stemming and English
stopwords, over ``title + " " + text``. Documents are addressed by their position in the corpus (the
same integer ids the vector index and the document store use).
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from thinkir.errors import InputError

logger = logging.getLogger(__name__)

DEFAULT_K1 = 0.9
DEFAULT_B = 0.4


class BM25Backend(ABC):
    """A lexical index. Build once from texts in corpus order, search, save to and load from a folder."""

    name: str = ""

    def __init__(self, k1: float = DEFAULT_K1, b: float = DEFAULT_B) -> None:
        self.k1 = k1
        self.b = b

    @abstractmethod
    def build(self, texts: Iterable[str], progress: bool = False) -> None: ...

    @abstractmethod
    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Returns ``(scores [n, k] float32, positions [n, k] int64)``; ``-1`` pads short lists."""

    @abstractmethod
    def save(self, folder: Path) -> None: ...

    @classmethod
    @abstractmethod
    def load(cls, folder: Path) -> BM25Backend: ...


class BM25sBackend(BM25Backend):
    """BM25 on sparse matrices (``bm25s``), Lucene variant."""

    name = "bm25s"

    def __init__(self, k1: float = DEFAULT_K1, b: float = DEFAULT_B) -> None:
        super().__init__(k1, b)
        import bm25s

        self.retriever = bm25s.BM25(method="lucene", k1=k1, b=b)
        self.tokenizer = _make_tokenizer()
        self.n_docs = 0

    def build(self, texts: Iterable[str], progress: bool = False) -> None:
        ids = self.tokenizer.tokenize(list(texts), update_vocab=True, return_as="ids", show_progress=progress)
        self.n_docs = len(ids)
        vocab = self.tokenizer.get_vocab_dict()
        self.retriever.index((ids, vocab), show_progress=progress)

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(queries)
        if self.n_docs == 0 or n == 0:
            return np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64)
        k = min(k, self.n_docs)
        tokens = self.tokenizer.tokenize(list(queries), update_vocab=False, return_as="ids", show_progress=False)
        vocab = self.tokenizer.get_vocab_dict()
        inverse = {i: t for t, i in vocab.items()}
        as_strings = [[inverse[i] for i in q if i in inverse] or [""] for q in tokens]
        docs, scores = self.retriever.retrieve(as_strings, k=k, show_progress=False, n_threads=0)
        docs = np.asarray(docs, dtype=np.int64)
        scores = np.asarray(scores, dtype=np.float32)
        docs[scores <= 0] = -1  # no matching term: not a hit
        return scores, docs

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.retriever.save(str(folder), show_progress=False)
        self.tokenizer.save_vocab(str(folder))
        (folder / "thinkir_bm25.json").write_text(
            json.dumps({"backend": self.name, "k1": self.k1, "b": self.b, "n_docs": self.n_docs})
        )

    @classmethod
    def load(cls, folder: Path) -> BM25sBackend:
        import bm25s

        meta = json.loads((folder / "thinkir_bm25.json").read_text())
        self = cls(meta["k1"], meta["b"])
        self.retriever = bm25s.BM25.load(str(folder), load_corpus=False)
        self.tokenizer.load_vocab(str(folder))
        self.n_docs = int(meta["n_docs"])
        return self


def _make_tokenizer() -> Any:
    import Stemmer
    from bm25s.tokenization import Tokenizer

    return Tokenizer(stopwords="en", stemmer=Stemmer.Stemmer("english"))


def _pyserini_backend() -> type[BM25Backend]:
    from thinkir.retrieval.bm25_lucene import PyseriniBackend

    return PyseriniBackend


BACKENDS: dict[str, Any] = {"bm25s": lambda: BM25sBackend, "pyserini": _pyserini_backend}


def backend_class(name: str) -> type[BM25Backend]:
    if name not in BACKENDS:
        raise InputError(f"unknown BM25 backend {name!r}; valid: {sorted(BACKENDS)} (or 'none')")
    return BACKENDS[name]()  # type: ignore[no-any-return]


def load_bm25(folder: Path) -> BM25Backend:
    meta = json.loads((folder / "thinkir_bm25.json").read_text())
    return backend_class(meta["backend"]).load(folder)
