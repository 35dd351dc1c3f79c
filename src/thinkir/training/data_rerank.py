"""Training data of the DeAR rerankers: pointwise groups and listwise reasoning windows.

Sources (all train splits; the evaluation queries are never read here):

* MS MARCO triples (``{query, positive, negative}``): one group per triple, the query's other
  negatives added as extra negatives;
* the listwise reasoning rows (5 passages + a teacher LLM's permutation): the teacher's first passage
  is the positive, the others are negatives;
* SciFact train (``qrels/train.tsv``): judged documents are positives, negatives are mined with BM25
  (bm25s) from ranks below ``skip_top`` (the ids are cached on disk, so mining runs once).
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import json
import logging
import random
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from thinkir.errors import InputError
from thinkir.types import Document

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainGroup:
    """One query with its positive first and ``n`` negatives after it."""

    query: str
    docs: tuple[Document, ...]
    source: str


@dataclass(frozen=True, slots=True)
class ListwiseExample:
    """A window of passages, the teacher's permutation (0-based, best first) and its rationale."""

    query: str
    passages: tuple[str, ...]
    order: tuple[int, ...]
    rationale: str


def is_dev(query: str, fraction: float) -> bool:
    """Deterministic dev membership by a hash of the query text (all rows of a query go together)."""
    digest = hashlib.sha1(query.strip().lower().encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def _read_jsonl(path: Path) -> Iterable[dict]:
    if not path.is_file():
        raise InputError(f"data file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        for line in fh:
            if line.strip():
                yield json.loads(line)


def msmarco_groups(path: Path, n_neg: int, seed: int = 0) -> list[TrainGroup]:
    """Groups from MS MARCO triples; a query's negatives are pooled across its triples."""
    rows = list(_read_jsonl(path))
    negs: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["negative"] not in negs[r["query"]]:
            negs[r["query"]].append(r["negative"])
    all_negs = [n for ns in negs.values() for n in ns]
    rng = random.Random(seed)
    out = []
    for r in rows:
        pool = [n for n in negs[r["query"]] if n != r["negative"]]
        rng.shuffle(pool)
        chosen = [r["negative"], *pool][:n_neg]
        while len(chosen) < n_neg:  # fill with other queries' negatives (easy negatives)
            chosen.append(rng.choice(all_negs))
        docs = (Document("pos", r["positive"]), *(Document(f"neg{i}", t) for i, t in enumerate(chosen)))
        out.append(TrainGroup(r["query"], docs, "msmarco"))
    return out


def _literal_list(value: object) -> list:
    if isinstance(value, list):
        return value
    return list(ast.literal_eval(str(value)))


def listwise_examples(dirs: Sequence[Path]) -> list[ListwiseExample]:
    """Rows of the reasoning folders whose ``reason`` parses to a full permutation of the passages."""
    from thinkir.rerank.parse import parse_ranking

    out, dropped = [], 0
    for folder in dirs:
        files = sorted(Path(folder).glob("*.jsonl"))
        if not files:
            raise InputError(f"no *.jsonl files in {folder}")
        for f in files:
            for r in _read_jsonl(f):
                passages = tuple(str(p) for p in _literal_list(r["unsorted_docs"]))
                parsed = parse_ranking(str(r["reason"]), len(passages))
                if not parsed.valid or len(passages) < 2:
                    dropped += 1
                    continue
                out.append(ListwiseExample(r["query"], passages, parsed.order, clean_rationale(parsed.rationale)))
    logger.info("listwise rows: %d kept, %d dropped (no full permutation)", len(out), dropped)
    return out


def clean_rationale(text: str) -> str:
    text = re.sub(r"^\s*(reasoning|explanation|here's why)\s*:?\s*", "", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def shorten_words(text: str, max_words: int) -> str:
    """At most ``max_words`` words, cut after the last full sentence when one fits."""
    words = text.split()
    if len(words) <= max_words:
        return text
    cut = " ".join(words[:max_words])
    end = max(cut.rfind(". "), cut.rfind(".\n"))
    return cut[: end + 1] if end > len(cut) // 3 else cut + " …"


def reasoning_groups(examples: Sequence[ListwiseExample], n_neg: int, seed: int = 0) -> list[TrainGroup]:
    """Pointwise groups from listwise rows: the teacher's top passage against the others."""
    rng = random.Random(seed)
    out = []
    for ex in examples:
        rest = list(ex.order[1:])
        rng.shuffle(rest)
        docs = (
            Document("pos", ex.passages[ex.order[0]]),
            *(Document(f"neg{i}", ex.passages[p]) for i, p in enumerate(rest[:n_neg])),
        )
        if len(docs) == n_neg + 1:
            out.append(TrainGroup(ex.query, docs, "reasoning"))
    return out


# -- SciFact ------------------------------------------------------------------------------------------
def read_beir_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels tsv (with header) -> ``{qid: {docid: rel}}``."""
    if not path.is_file():
        raise InputError(f"qrels file not found: {path}")
    out: dict[str, dict[str, int]] = defaultdict(dict)
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and not parts[-1].lstrip("-").isdigit():
                continue
            out[parts[0]][parts[1]] = int(parts[2])
    return dict(out)


def read_beir_corpus(scifact_dir: Path) -> dict[str, Document]:
    path = scifact_dir / "corpus.jsonl.gz"
    if not path.exists():
        path = scifact_dir / "corpus.jsonl"
    return {str(r["_id"]): Document(str(r["_id"]), r.get("text", ""), r.get("title", "")) for r in _read_jsonl(path)}


def read_beir_queries(scifact_dir: Path) -> dict[str, str]:
    return {str(r["_id"]): r["text"] for r in _read_jsonl(scifact_dir / "queries.jsonl")}


def bm25_candidates(scifact_dir: Path, split: str, depth: int, cache: Path | None = None) -> dict[str, list[str]]:
    """bm25s top-``depth`` doc ids for the queries of ``split``; cached as JSON at ``cache``."""
    if cache is not None and cache.is_file():
        data = json.loads(cache.read_text())
        if data.get("split") == split and data.get("depth", 0) >= depth:
            return {q: ids[:depth] for q, ids in data["queries"].items()}
    from thinkir.retrieval.bm25 import BM25sBackend

    corpus = read_beir_corpus(scifact_dir)
    ids = list(corpus)
    qrels = read_beir_qrels(scifact_dir / "qrels" / f"{split}.tsv")
    queries = read_beir_queries(scifact_dir)
    qids = [q for q in qrels if q in queries]
    bm25 = BM25sBackend()
    bm25.build([corpus[i].full_text for i in ids])
    _, positions = bm25.search([queries[q] for q in qids], depth)
    result = {q: [ids[p] for p in row if p >= 0] for q, row in zip(qids, positions.tolist(), strict=True)}
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps({"split": split, "depth": depth, "queries": result}))
        tmp.replace(cache)
    return result


def scifact_groups(
    scifact_dir: Path, n_neg: int, mine_depth: int = 50, skip_top: int = 3, cache: Path | None = None, seed: int = 0
) -> list[TrainGroup]:
    """SciFact **train** groups: each judged document against BM25-mined negatives."""
    corpus = read_beir_corpus(scifact_dir)
    queries = read_beir_queries(scifact_dir)
    qrels = read_beir_qrels(scifact_dir / "qrels" / "train.tsv")
    mined = bm25_candidates(scifact_dir, "train", mine_depth, cache)
    rng = random.Random(seed)
    out = []
    for qid, rels in qrels.items():
        if qid not in queries:
            continue
        pool = [d for d in mined.get(qid, [])[skip_top:] if d not in rels and d in corpus]
        for did, rel in rels.items():
            if rel <= 0 or did not in corpus or len(pool) < n_neg:
                continue
            negs = rng.sample(pool, n_neg)
            out.append(TrainGroup(queries[qid], (corpus[did], *(corpus[d] for d in negs)), "scifact"))
    return out


def split_dev(items: Sequence, fraction: float, key=lambda x: x.query) -> tuple[list, list]:  # noqa: ANN001
    """``(train, dev)`` split by query hash."""
    train: list = []
    dev: list = []
    for item in items:
        (dev if is_dev(key(item), fraction) else train).append(item)
    return train, dev


__all__ = [
    "ListwiseExample",
    "TrainGroup",
    "bm25_candidates",
    "clean_rationale",
    "is_dev",
    "listwise_examples",
    "msmarco_groups",
    "read_beir_corpus",
    "read_beir_qrels",
    "read_beir_queries",
    "reasoning_groups",
    "scifact_groups",
    "shorten_words",
    "split_dev",
]
