from __future__ import annotations

import numpy as np
import pytest

from thinkir.errors import InputError, UnknownModelError
from thinkir.retrieval.embedders import SentenceTransformerEmbedder, load_embedder, token_budget_batches


def test_token_budget_batches_respect_budget_and_cover_everything() -> None:
    lengths = [5, 100, 7, 60, 60, 3, 250]
    batches = token_budget_batches(lengths, max_tokens=200)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        longest = max(lengths[i] for i in b)
        assert len(b) * longest <= 200 or len(b) == 1  # an over-long text gets a batch of its own
    assert batches[0] == [6]  # longest first


def test_encode_restores_order_and_normalises(tiny_embedder_path: str) -> None:
    emb = SentenceTransformerEmbedder(tiny_embedder_path, device="cpu", max_batch_tokens=64)
    texts = [
        "vitamin d",
        "a much longer text about soybean farming and seed production of soybeans",
        "coffee",
    ]
    together = emb.encode(texts)
    one_by_one = np.vstack([emb.encode([t]) for t in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    # the plain sentence-transformers encode is the oracle
    plain = emb.model.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(together, plain, atol=1e-5)


def test_encode_rejects_a_bare_string_and_handles_empty(tiny_embedder_path: str) -> None:
    emb = SentenceTransformerEmbedder(tiny_embedder_path, device="cpu")
    with pytest.raises(InputError):
        emb.encode("not a list")  # type: ignore[arg-type]
    assert emb.encode([]).shape == (0, emb.dimension)


def test_unknown_model_lists_valid_keys() -> None:
    with pytest.raises(UnknownModelError, match="minilm"):
        load_embedder("no-such-model")


def test_int8_embedder_stays_close_to_fp32(tiny_embedder_path: str) -> None:
    fp32 = SentenceTransformerEmbedder(tiny_embedder_path, device="cpu")
    int8 = SentenceTransformerEmbedder(tiny_embedder_path, device="cpu", precision="int8")
    texts = ["vitamin d deficiency", "coffee flasks on hikes"]
    cos = (fp32.encode(texts) * int8.encode(texts)).sum(axis=1)
    assert (cos > 0.95).all()
