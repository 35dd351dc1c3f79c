"""Reciprocal-rank fusion (Cormack et al., 2009) of ranked lists."""

from __future__ import annotations

from collections.abc import Sequence

from thinkir.types import Candidate, RankedList

RRF_K = 60


def rrf(
    lists: Sequence[RankedList], weights: Sequence[float] | None = None, k: int = RRF_K, depth: int | None = None
) -> RankedList:
    """Fuse ranked lists for one query: ``score(d) = sum_i w_i / (k + rank_i(d))`` (ranks from 1).

    Documents missing from a list contribute nothing for it. Ties break by document id.
    """
    if not lists:
        raise ValueError("rrf needs at least one ranked list")
    weights = list(weights) if weights is not None else [1.0] * len(lists)
    if len(weights) != len(lists):
        raise ValueError(f"got {len(weights)} weights for {len(lists)} lists")
    scores: dict[str, float] = {}
    docs: dict[str, Candidate] = {}
    for ranked, w in zip(lists, weights, strict=True):
        for rank, cand in enumerate(ranked.candidates, start=1):
            scores[cand.doc_id] = scores.get(cand.doc_id, 0.0) + w / (k + rank)
            if cand.document is not None or cand.doc_id not in docs:
                docs[cand.doc_id] = cand
    fused = RankedList.from_scores(lists[0].query, list(scores.items()), lists[0].trace)
    cands = tuple(Candidate(c.doc_id, c.score, docs[c.doc_id].document) for c in fused.candidates)
    return RankedList(fused.query, cands[:depth] if depth else cands, fused.trace)
