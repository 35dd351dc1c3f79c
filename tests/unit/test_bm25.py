"""The embedded BM25 backend (bm25s): Lucene's BM25 formula by hand, persistence, misses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from thinkir.errors import InputError
from thinkir.retrieval.bm25 import BM25sBackend, backend_class, load_bm25

# After English stemming and stopword removal ("the", "on", "in", "a", "and" are stopwords):
#   0: cat sat mat        (3 terms)
#   1: dog run park       (3 terms)
#   2: cat dog            (2 terms)          avgdl = 8 / 3
DOCS = ["The cat sat on the mat.", "Dogs running in the park", "a cat and a dog"]
N, AVGDL = 3, 8 / 3


def lucene_bm25(tf: int, df: int, dl: int, k1: float = 0.9, b: float = 0.4) -> float:
    """One term's Lucene BM25 contribution (Lucene >= 8: no ``k1 + 1`` factor)."""
    idf = math.log(1 + (N - df + 0.5) / (df + 0.5))
    return idf * tf / (tf + k1 * (1 - b + b * dl / AVGDL))


@pytest.fixture(scope="module")
def index() -> BM25sBackend:
    bm25 = BM25sBackend()
    bm25.build(DOCS)
    return bm25


def test_scores_follow_lucene_bm25(index: BM25sBackend) -> None:
    scores, positions = index.search(["cats", "dog running"], k=3)
    # "cats" -> cat: df 2, in doc 2 (2 terms) and doc 0 (3 terms); doc 1 does not match.
    assert positions[0].tolist() == [2, 0, -1]
    np.testing.assert_allclose(scores[0, :2], [lucene_bm25(1, 2, 2), lucene_bm25(1, 2, 3)], rtol=1e-5)
    # "dog running" -> dog (df 2) + run (df 1): doc 1 has both, doc 2 only dog.
    assert positions[1].tolist() == [1, 2, -1]
    expected = [lucene_bm25(1, 2, 3) + lucene_bm25(1, 1, 3), lucene_bm25(1, 2, 2)]
    np.testing.assert_allclose(scores[1, :2], expected, rtol=1e-5)


def test_query_without_known_terms_has_no_hits(index: BM25sBackend) -> None:
    scores, positions = index.search(["zebra quantum", "the and of", ""], k=2)
    assert positions.shape == (3, 2)
    assert (positions == -1).all()
    assert (scores == 0).all()


def test_k_is_capped_at_the_corpus_size(index: BM25sBackend) -> None:
    scores, positions = index.search(["cat"], k=10)
    assert positions.shape == scores.shape == (1, 3)


def test_save_load_round_trip_gives_identical_results(index: BM25sBackend, tmp_path: Path) -> None:
    queries = ["cat on a mat", "running dogs", "park", "nothing matches here"]
    index.save(tmp_path / "bm25")
    loaded = load_bm25(tmp_path / "bm25")
    assert isinstance(loaded, BM25sBackend)
    assert (loaded.k1, loaded.b, loaded.n_docs) == (index.k1, index.b, index.n_docs)
    before, after = index.search(queries, 3), loaded.search(queries, 3)
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_array_equal(before[0], after[0])


def test_k1_and_b_change_the_scores() -> None:
    bm25 = BM25sBackend(k1=1.2, b=0.75)
    bm25.build(DOCS)
    scores, _ = bm25.search(["cats"], k=1)
    assert scores[0, 0] == pytest.approx(lucene_bm25(1, 2, 2, k1=1.2, b=0.75), rel=1e-5)


def test_unknown_backend_lists_the_valid_ones() -> None:
    with pytest.raises(InputError, match="bm25s"):
        backend_class("elastic")
