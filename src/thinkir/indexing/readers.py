"""Streaming corpus readers: BEIR ``corpus.jsonl(.gz)``, JSONL with ``id``/``text``, and TSV.

Readers yield :class:`~thinkir.types.Document` one at a time, so a corpus larger than memory can be
indexed. Malformed lines raise :class:`InputError` naming the file and line number, unless
``skip_bad_lines`` is set, in which case they are counted in :class:`ReadStats`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from thinkir.errors import InputError
from thinkir.types import Document

logger = logging.getLogger(__name__)

FORMATS = ("auto", "beir", "jsonl", "tsv")


@dataclass
class ReadStats:
    """What a reader saw: lines read, documents yielded and what it skipped, with reasons."""

    lines: int = 0
    documents: int = 0
    bad_lines: int = 0
    empty: int = 0
    duplicates: int = 0
    first_errors: list[str] = field(default_factory=list)

    def skipped(self, reason: str, line: int, message: str) -> None:
        if reason == "bad":
            self.bad_lines += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"line {line}: {message}")


def open_text(path: Path) -> IO[str]:
    """Open a text file, transparently gunzipping ``.gz``. One-line error for a missing/unreadable file."""
    if not path.exists():
        raise InputError(f"corpus file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the corpus file (e.g. {path}/corpus.jsonl)")
    try:
        if path.suffix == ".gz":
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
        return path.open(encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot read corpus file {path}: {err.strerror or err}") from err


def detect_format(path: Path) -> str:
    name = path.name.removesuffix(".gz")
    if name.endswith((".tsv", ".tsv.txt")):
        return "tsv"
    if name.endswith((".jsonl", ".json")):
        return "jsonl"
    raise InputError(f"cannot tell the format of {path}: name it .jsonl, .jsonl.gz or .tsv, or pass --format")


def read_corpus(
    path: Path | str,
    fmt: str = "auto",
    skip_bad_lines: bool = False,
    stats: ReadStats | None = None,
    dedupe: bool = True,
) -> Iterator[Document]:
    """Stream documents from ``path``.

    Behaviour, documented for users:
      * empty documents (no title and no text) are skipped and counted in ``stats.empty``;
      * duplicate ids keep the first occurrence; later ones are skipped and counted in
        ``stats.duplicates`` (``dedupe=False`` yields them all);
      * a malformed line raises ``InputError`` with its line number, or is skipped and counted when
        ``skip_bad_lines`` is set.
    """
    path = Path(path)
    stats = stats if stats is not None else ReadStats()
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise InputError(f"unknown corpus format {fmt!r}; valid: {list(FORMATS)}")
    seen: set[str] = set()
    rows = _tsv_rows(path, stats) if fmt == "tsv" else _jsonl_rows(path, stats)
    for lineno, row in rows:
        try:
            doc = _to_document(row)
        except InputError as err:
            if not skip_bad_lines:
                raise InputError(f"{path}:{lineno}: {err}") from None
            stats.skipped("bad", lineno, str(err))
            continue
        if not doc.text.strip() and not doc.title.strip():
            stats.empty += 1
            continue
        if dedupe:
            if doc.id in seen:
                stats.duplicates += 1
                continue
            seen.add(doc.id)
        stats.documents += 1
        yield doc


def _jsonl_rows(path: Path, stats: ReadStats) -> Iterator[tuple[int, dict[str, object] | InputError]]:
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            stats.lines += 1
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                yield lineno, InputError(f"malformed JSON ({err.msg} at column {err.colno})")
                continue
            if not isinstance(obj, dict):
                yield lineno, InputError("expected a JSON object per line")
                continue
            yield lineno, obj


def _tsv_rows(path: Path, stats: ReadStats) -> Iterator[tuple[int, dict[str, object] | InputError]]:
    """TSV: ``id<TAB>text`` or ``id<TAB>title<TAB>text``; a header row naming ``id`` is skipped."""
    with open_text(path) as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        for lineno, cols in enumerate(reader, start=1):
            stats.lines += 1
            if lineno == 1 and cols and cols[0].strip().lower() in ("id", "_id", "docid", "doc_id", "pid"):
                continue
            if not cols or cols == [""]:
                continue
            if len(cols) == 2:
                yield lineno, {"id": cols[0], "text": cols[1]}
            elif len(cols) == 3:
                yield lineno, {"id": cols[0], "title": cols[1], "text": cols[2]}
            else:
                yield lineno, InputError(f"expected 2 or 3 tab-separated columns, got {len(cols)}")


def _to_document(row: dict[str, object] | InputError) -> Document:
    if isinstance(row, InputError):
        raise row
    doc_id = row.get("_id", row.get("id", row.get("docid")))
    if doc_id is None or str(doc_id).strip() == "":
        raise InputError("missing document id (expected '_id' or 'id')")
    text = row.get("text", row.get("contents", ""))
    title = row.get("title", "")
    if not isinstance(text, str) or not isinstance(title, str):
        raise InputError("'text' and 'title' must be strings")
    return Document(id=str(doc_id), text=text, title=title)
