"""Document store: SQLite, addressed by the integer position shared with the vector and BM25 indexes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from thinkir.types import Document

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT, text TEXT);
CREATE TABLE IF NOT EXISTS shards (shard INTEGER PRIMARY KEY, start INTEGER NOT NULL, count INTEGER NOT NULL);
"""


class DocStore:
    """Read/write access to ``docs.sqlite``. Safe for concurrent readers (one connection per thread)."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self._uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if not readonly:
            self.conn.executescript(SCHEMA)

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections must not be shared between threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def add_shard(self, shard: int, start: int, docs: Sequence[Document]) -> None:
        """Insert one shard's documents and mark the shard done, atomically."""
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO docs(pos, id, title, text) VALUES (?, ?, ?, ?)",
                [(start + i, d.id, d.title, d.text) for i, d in enumerate(docs)],
            )
            self.conn.execute(
                "INSERT OR REPLACE INTO shards(shard, start, count) VALUES (?, ?, ?)", (shard, start, len(docs))
            )

    def done_shards(self) -> dict[int, tuple[int, int]]:
        rows = self.conn.execute("SELECT shard, start, count FROM shards").fetchall()
        return {s: (a, c) for s, a, c in rows}

    def __len__(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM docs").fetchone()[0])

    def get(self, positions: Sequence[int]) -> list[Document | None]:
        """Documents at ``positions`` (None for unknown positions), in the order asked."""
        wanted = [int(p) for p in positions if p >= 0]
        found: dict[int, Document] = {}
        for chunk_start in range(0, len(wanted), 500):
            chunk = wanted[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            for pos, did, title, text in self.conn.execute(
                f"SELECT pos, id, title, text FROM docs WHERE pos IN ({marks})", chunk
            ):
                found[pos] = Document(id=did, title=title or "", text=text or "")
        return [found.get(int(p)) for p in positions]

    def ids(self, positions: Sequence[int]) -> list[str | None]:
        return [d.id if d else None for d in self.get(positions)]

    def positions_of(self, doc_ids: Iterable[str]) -> dict[str, int]:
        ids = list(doc_ids)
        out: dict[str, int] = {}
        for s in range(0, len(ids), 500):
            chunk = ids[s : s + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self.conn.execute(f"SELECT id, pos FROM docs WHERE id IN ({marks})", chunk).fetchall())
        return out

    def iter_texts(self, batch: int = 10000) -> Iterable[str]:
        """All ``title text`` strings in position order (what BM25 indexes)."""
        last = -1
        while True:
            rows = self.conn.execute(
                "SELECT pos, title, text FROM docs WHERE pos > ? ORDER BY pos LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            for pos, title, text in rows:
                yield Document(id="", title=title or "", text=text or "").full_text
                last = pos

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
