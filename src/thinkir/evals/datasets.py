"""Loaders for evaluation data: BEIR folders, TREC qrels and topics, RankGPT/rank_llm candidate JSON.

Qrels are graded: ``{query_id: {doc_id: relevance}}`` with integer relevance (0 = judged not relevant).
Every loader raises :class:`~thinkir.errors.InputError` on bad input, naming the file and, for
line-based formats, the line number.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinkir.errors import InputError
from thinkir.indexing.readers import open_text
from thinkir.types import Candidate, Document, Query, RankedList

logger = logging.getLogger(__name__)

#: query id -> doc id -> graded relevance
Qrels = dict[str, dict[str, int]]

CORPUS_NAMES = ("corpus.jsonl", "corpus.jsonl.gz")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-empty lines of a text file (``.gz`` allowed) with 1-based line numbers."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                yield lineno, line.rstrip("\n").rstrip("\r")


# ---- qrels ---------------------------------------------------------------------------------------
def load_qrels(path: Path | str) -> Qrels:
    """Read qrels: TREC (``qid iter docid rel``, whitespace) or BEIR TSV (``query-id corpus-id score``,
    header optional). The format is told per line by its column count.

    Raises:
        InputError: malformed line (with its line number), a document judged twice with different
            grades, or a file with no judgments.
    """
    path = Path(path)
    qrels: Qrels = {}
    for lineno, line in _lines(path):
        cols = line.split("\t") if "\t" in line else line.split()
        cols = [c.strip() for c in cols]
        if lineno == 1 and len(cols) == 3 and not _is_int(cols[2]):
            continue  # BEIR header: query-id corpus-id score
        if len(cols) == 4:
            qid, _, did, rel = cols
        elif len(cols) == 3:
            qid, did, rel = cols
        else:
            raise InputError(
                f"{path}:{lineno}: expected 'qid Q0 docid relevance' (TREC) or "
                f"'query-id<TAB>corpus-id<TAB>score' (BEIR), got {len(cols)} column(s)"
            )
        if not _is_int(rel):
            raise InputError(f"{path}:{lineno}: relevance must be an integer, got {rel!r}")
        grade = int(rel)
        judged = qrels.setdefault(qid, {})
        if did in judged and judged[did] != grade:
            raise InputError(
                f"{path}:{lineno}: document {did!r} of query {qid!r} judged twice ({judged[did]} and {grade})"
            )
        judged[did] = grade
    if not qrels:
        raise InputError(f"{path} holds no judgments")
    return qrels


def _is_int(s: str) -> bool:
    return bool(re.fullmatch(r"[+-]?\d+", s))


# ---- queries / topics ----------------------------------------------------------------------------
def load_queries(path: Path | str) -> dict[str, str]:
    """Queries by id from BEIR ``queries.jsonl`` (``_id``, ``text``), a TSV (``qid<TAB>text``) or a
    classic TREC topics file (``<top><num>…<title>…</top>``; the title is the query)."""
    path = Path(path)
    name = path.name.removesuffix(".gz")
    if name.endswith((".jsonl", ".json")):
        return _jsonl_queries(path)
    first = next((line for _, line in _lines(path)), "")
    if first.lstrip().lower().startswith("<top>"):
        return load_trec_topics(path)
    queries: dict[str, str] = {}
    for lineno, line in _lines(path):
        qid, sep, text = line.partition("\t")
        if not sep or not qid.strip() or not text.strip():
            raise InputError(f"{path}:{lineno}: expected 'query-id<TAB>query text'")
        queries[qid.strip()] = text.strip()
    return queries


def _jsonl_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for lineno, line in _lines(path):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}:{lineno}: malformed JSON ({err.msg} at column {err.colno})") from None
        if not isinstance(obj, dict):
            raise InputError(f"{path}:{lineno}: expected a JSON object")
        qid = obj.get("_id", obj.get("id", obj.get("query_id")))
        text = obj.get("text", obj.get("query"))
        if qid is None or not isinstance(text, str):
            raise InputError(f"{path}:{lineno}: a query needs '_id' and 'text'")
        queries[str(qid)] = text
    return queries


_TOP = re.compile(r"<top>(.*?)</top>", re.S | re.I)
_NUM = re.compile(r"<num>\s*(?:Number:)?\s*(\S+)", re.I)
_TITLE = re.compile(r"<title>\s*(?:Topic:)?\s*(.*?)\s*(?=<[a-z]+>|</top>|$)", re.S | re.I)


def load_trec_topics(path: Path | str) -> dict[str, str]:
    """Classic TREC topics (SGML-like ``<top>`` blocks); the query is the ``<title>`` field."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    with open_text(path) as fh:
        raw = fh.read()
    topics: dict[str, str] = {}
    for n, block in enumerate(_TOP.findall(raw), start=1):
        num, title = _NUM.search(block), _TITLE.search(block)
        if num is None or title is None or not title.group(1).strip():
            raise InputError(f"{path}: topic block {n} has no <num> or no <title>")
        topics[num.group(1)] = " ".join(title.group(1).split())
    if not topics:
        raise InputError(f"{path} holds no <top> topic blocks")
    return topics


# ---- BEIR folders --------------------------------------------------------------------------------
@dataclass(frozen=True)
class BeirDataset:
    """A BEIR folder: corpus file, the split's queries (those with judgments) and its qrels."""

    folder: Path
    split: str
    corpus_path: Path
    queries: tuple[Query, ...]
    qrels: Qrels

    @property
    def name(self) -> str:
        return self.folder.name


def available_splits(folder: Path | str) -> list[str]:
    qdir = Path(folder) / "qrels"
    return sorted(p.stem for p in qdir.glob("*.tsv")) if qdir.is_dir() else []


def find_corpus(folder: Path | str) -> Path:
    folder = Path(folder)
    for name in CORPUS_NAMES:
        if (folder / name).is_file():
            return folder / name
    raise InputError(f"{folder} has no corpus file (expected one of {list(CORPUS_NAMES)})")


def load_beir(folder: Path | str, split: str = "test") -> BeirDataset:
    """Load a BEIR folder's ``split``.

    The evaluated queries are those judged in ``qrels/<split>.tsv`` (``queries.jsonl`` holds every
    split's queries). Judged ids missing from ``queries.jsonl`` are an error when none match, and a
    warning otherwise.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"BEIR folder not found: {folder}")
    splits = available_splits(folder)
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        raise InputError(f"{folder} has no split {split!r} (no {qrels_path.name}); available splits: {splits}")
    corpus = find_corpus(folder)
    qpath = folder / "queries.jsonl"
    if not qpath.is_file():
        raise InputError(f"{folder} has no queries.jsonl")
    all_queries = load_queries(qpath)
    qrels = load_qrels(qrels_path)
    check_overlap(qrels, all_queries.keys(), what=f"queries in {qpath.name}")
    missing = [q for q in qrels if q not in all_queries]
    if missing:
        logger.warning(
            "%d judged query id(s) have no text in %s and are skipped, e.g. %s",
            len(missing),
            qpath,
            missing[:5],
        )
    queries = tuple(Query(q, all_queries[q]) for q in qrels if q in all_queries)
    return BeirDataset(folder, split, corpus, queries, {q: qrels[q] for q in qrels if q in all_queries})


def check_overlap(qrels: Qrels, query_ids: Any, what: str = "queries") -> int:
    """Number of qrels query ids found among ``query_ids``; raises if none match."""
    ids = set(query_ids)
    matched = sum(1 for q in qrels if q in ids)
    if matched == 0:
        raise InputError(
            f"the qrels match none of the {what}: 0 of {len(qrels)} judged query ids matched "
            f"{len(ids)} query ids (qrels e.g. {sorted(qrels)[:3]}, {what} e.g. {sorted(ids)[:3]}); "
            "are these the qrels of this dataset?"
        )
    return matched


# ---- RankGPT / rank_llm candidate files ----------------------------------------------------------
def load_candidates(path: Path | str) -> list[RankedList]:
    """Read a candidate file: a JSON list (or JSONL) of ``{query, hits: [{qid, docid, content, score,
    rank}]}`` (rank_llm) or ``{query_id, query, hits: [{docid, content, score}]}``.

    Hits keep the file's order (sorted by ``rank`` when every hit has one); scores that are missing or
    not numbers become 0. Each candidate carries its document text for reranking.

    Raises:
        InputError: unreadable JSON (with line number), no queries, a query without an id, a hit
            without a docid, or a document listed twice for one query.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"candidate file not found: {path}")
    with open_text(path) as fh:
        raw = fh.read()
    entries = _parse_json_or_jsonl(path, raw)
    if not entries:
        raise InputError(f"{path} holds an empty candidate list (no queries)")
    out: list[RankedList] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        ranked = _entry_to_list(path, n, entry)
        if ranked.query.id in seen:
            raise InputError(f"{path}: query {ranked.query.id!r} appears twice (entry {n})")
        seen.add(ranked.query.id)
        out.append(ranked)
    return out


def _parse_json_or_jsonl(path: Path, raw: str) -> list[Any]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        if err.msg != "Extra data":
            raise InputError(f"{path}:{err.lineno}: malformed JSON ({err.msg} at column {err.colno})") from None
        data = []
        for lineno, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data.append(json.loads(line))
            except json.JSONDecodeError as line_err:
                raise InputError(f"{path}:{lineno}: malformed JSON ({line_err.msg})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of {{query, hits}} objects")
    return data


def _entry_to_list(path: Path, n: int, entry: Any) -> RankedList:
    if not isinstance(entry, dict) or "hits" not in entry or not isinstance(entry["hits"], list):
        raise InputError(f"{path}: entry {n} is not a {{query, hits: [...]}} object")
    hits = entry["hits"]
    qid = entry.get("query_id", entry.get("qid"))
    if qid is None and hits and isinstance(hits[0], dict):
        qid = hits[0].get("qid")
    if qid is None:
        raise InputError(f"{path}: entry {n} has no query id ('query_id', or 'qid' in its hits)")
    text = entry.get("query", "")
    if isinstance(text, dict):  # rank_llm Request objects: {"query": {"text", "qid"}}
        text = text.get("text", "")
    if not all(isinstance(h, dict) for h in hits):
        raise InputError(f"{path}: entry {n} (query {qid}) has a hit that is not an object")
    if hits and all(_is_number(h.get("rank")) for h in hits):
        hits = sorted(hits, key=lambda h: float(h["rank"]))
    cands: list[Candidate] = []
    docs_seen: set[str] = set()
    for j, hit in enumerate(hits):
        did = hit.get("docid", hit.get("doc_id"))
        if did is None or str(did).strip() == "":
            raise InputError(f"{path}: entry {n} (query {qid}), hit {j} has no 'docid'")
        did = str(did)
        if did in docs_seen:
            raise InputError(f"{path}: query {qid} lists document {did!r} twice (hit {j})")
        docs_seen.add(did)
        content = hit.get("content", hit.get("text", ""))
        score = float(hit["score"]) if _is_number(hit.get("score")) else 0.0
        cands.append(Candidate(did, score, Document(did, str(content or ""), str(hit.get("title", "") or ""))))
    return RankedList(Query(str(qid), str(text)), tuple(cands))


def _is_number(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, int | float):
        return True
    if isinstance(x, str):
        try:
            float(x)
        except ValueError:
            return False
        return True
    return False
