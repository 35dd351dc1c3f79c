"""Shared fixtures: tiny random-weight models built on the fly (offline, seconds) and toy corpora."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

TOY_DOCS = [
    {
        "_id": "d1",
        "title": "Vitamin D",
        "text": "Vitamin D deficiency lowers bone mineral density in older adults.",
    },
    {
        "_id": "d2",
        "title": "Coffee",
        "text": "Insulated flasks keep coffee hot for many hours on long hikes.",
    },
    {
        "_id": "d3",
        "title": "Soybeans",
        "text": "Soybean farming covers field and seed production of soybeans.",
    },
    {
        "_id": "d4",
        "title": "Couriers",
        "text": "Local letter and parcel delivery as part of a courier network.",
    },
    {"_id": "d5", "title": "Meat", "text": "Processed meats manufacturing includes sausages and cured hams."},
    {"_id": "d6", "title": "Markets", "text": "Stock markets fell sharply as interest rates rose."},
]

_WORDS = sorted(
    {w.strip(".,").lower() for d in TOY_DOCS for w in (d["title"] + " " + d["text"]).split()}
    | {"the", "a", "of", "and", "in", "is", "query", "document", "what", "how", "does"}
)


def build_tiny_sentence_transformer(path: Path, hidden: int = 32, seed: int = 0) -> Path:
    """Save a 2-layer random-weight BERT with mean pooling as a sentence-transformers folder."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(seed)
    path.mkdir(parents=True, exist_ok=True)
    raw = path / "_raw"
    raw.mkdir(exist_ok=True)
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *_WORDS,
        *[f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"],
        *list("abcdefghijklmnopqrstuvwxyz0123456789"),
    ]
    (raw / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    tok = BertTokenizerFast(vocab_file=str(raw / "vocab.txt"), do_lower_case=True)
    cfg = BertConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
    )
    BertModel(cfg).save_pretrained(raw)
    tok.save_pretrained(raw)
    word = models.Transformer(str(raw), max_seq_length=64)
    pool = models.Pooling(hidden, pooling_mode="mean")
    SentenceTransformer(modules=[word, pool], device="cpu").save(str(path / "model"))
    return path / "model"


@pytest.fixture(scope="session")
def tiny_embedder_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny-st")))


@pytest.fixture()
def toy_corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in TOY_DOCS))
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATA}")
    return SHARED_DATA
