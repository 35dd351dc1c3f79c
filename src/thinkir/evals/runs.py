"""TREC run files: ``qid Q0 docid rank score tag`` — written from ranked lists, read back as runs.

A :data:`Run` maps each query id to its ``(doc_id, score)`` pairs, best first. trec_eval (and so
ir-measures) orders a query's documents by score, not by the rank column, so :func:`from_ranked_lists`
guarantees scores that strictly decrease in list order: when a list's own scores tie or disagree with
its order (e.g. a candidate file whose scores are all 0), its scores are replaced by ``n - rank``.
Evaluating the in-memory run and the written file then gives the same numbers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from thinkir.errors import InputError
from thinkir.types import RankedList

logger = logging.getLogger(__name__)

#: query id -> [(doc id, score)], best first
Run = dict[str, list[tuple[str, float]]]


def from_ranked_lists(lists: Iterable[RankedList]) -> Run:
    """A run from ranked lists (list order is authoritative; see the module docstring)."""
    run: Run = {}
    for ranked in lists:
        qid = ranked.query.id
        if qid in run:
            raise InputError(f"query {qid!r} appears twice in the results")
        pairs = [(c.doc_id, float(c.score)) for c in ranked.candidates]
        _check_unique(qid, [d for d, _ in pairs])
        if any(pairs[i][1] <= pairs[i + 1][1] for i in range(len(pairs) - 1)):
            n = len(pairs)
            pairs = [(d, float(n - i)) for i, (d, _) in enumerate(pairs)]
        run[qid] = pairs
    return run


def _check_unique(qid: str, doc_ids: Sequence[str], where: str = "") -> None:
    seen: set[str] = set()
    for d in doc_ids:
        if d in seen:
            raise InputError(f"{where}query {qid!r} lists document {d!r} more than once")
        seen.add(d)


def write_run(path: Path | str, run: Mapping[str, Sequence[tuple[str, float]]], tag: str = "thinkir") -> Path:
    """Write ``run`` in TREC format (atomically: temp file + rename). Returns the path."""
    path = Path(path)
    tag = "_".join(tag.split()) or "thinkir"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for qid, pairs in run.items():
            for rank, (did, score) in enumerate(pairs, start=1):
                fh.write(f"{qid} Q0 {did} {rank} {score:.6f} {tag}\n")
    os.replace(tmp, path)
    return path


def read_run(path: Path | str) -> Run:
    """Read a TREC run file; each query's documents are ordered as trec_eval orders them (score
    descending, ties by document id descending).

    Raises:
        InputError: a line without 6 columns or with a non-numeric score (with its line number), or a
            document listed twice for one query (with both line numbers).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"run file not found: {path}")
    run: Run = {}
    first_line: dict[tuple[str, str], int] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            cols = line.split()
            if len(cols) != 6:
                raise InputError(f"{path}:{lineno}: expected 6 columns 'qid Q0 docid rank score tag', got {len(cols)}")
            qid, _, did, _, score, _ = cols
            try:
                value = float(score)
            except ValueError:
                raise InputError(f"{path}:{lineno}: score must be a number, got {score!r}") from None
            key = (qid, did)
            if key in first_line:
                raise InputError(
                    f"{path}:{lineno}: query {qid!r} lists document {did!r} twice (also on line {first_line[key]})"
                )
            first_line[key] = lineno
            run.setdefault(qid, []).append((did, value))
    if not run:
        raise InputError(f"{path} holds no run lines")
    for qid, pairs in run.items():
        pairs.sort(key=lambda p: p[0], reverse=True)
        pairs.sort(key=lambda p: p[1], reverse=True)  # stable: score desc, then docid desc
        run[qid] = pairs
    return run
