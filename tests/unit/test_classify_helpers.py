"""Builders shared by the classify tests (a hand-made taxonomy, a tiny random Llama, a model directory).

Holds no tests itself; the other ``test_classify_*`` modules import it.
"""

from __future__ import annotations

import json
from pathlib import Path

from thinkir.classify.taxonomy import Taxonomy, TaxonomyNode

# A (Food) ─┬─ A1 (Farming) ─┬─ A1a Wheat farming
#           │                └─ A1b Soybean farming
#           └─ A2 (Bakeries) ── A2a Bread bakeries
# B (Transport) ── B1 (Trucking) ── B1x Long-distance freight trucking
TOY_ROWS = [
    ("A", "", "Food", "Growing and making food."),
    ("A1", "A", "Farming", "Growing crops in fields."),
    ("A1a", "A1", "Wheat farming", "Growing wheat and wheat seed."),
    ("A1b", "A1", "Soybean farming", "Growing soybeans and soybean seed."),
    ("A2", "A", "Bakeries", "Baking bread and cakes."),
    ("A2a", "A2", "Bread bakeries", "Baking bread in commercial bakeries."),
    ("B", "", "Transport", "Moving goods and people."),
    ("B1", "B", "Trucking", "Moving freight by truck."),
    ("B1x", "B1", "Long-distance freight trucking", "Trucking general freight over long distances."),
]

TOY_EXAMPLES = [
    ("A1a", "wheat farming"),
    ("A1a", "growing winter wheat"),
    ("A1b", "soybean farming"),
    ("A1b", "soy seed production"),
    ("A2a", "bread baking"),
    ("A2a", "commercial bakery for bread"),
    ("B1x", "freight trucking"),
    ("B1x", "long haul trucks"),
]


def toy_taxonomy() -> Taxonomy:
    return Taxonomy([TaxonomyNode(c, t, d, p or None) for c, p, t, d in TOY_ROWS], name="toy")


def write_toy_csv(path: Path) -> Path:
    toy_taxonomy().to_csv(path)
    return path


def write_toy_examples(path: Path) -> Path:
    import csv

    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["code", "description"])
        writer.writerows(TOY_EXAMPLES)
    return path


def build_tiny_llama(path: Path, seed: int = 0) -> Path:
    """A 2-layer random-weight Llama with a small word-piece tokenizer (no chat template)."""
    import torch
    from transformers import BertTokenizerFast, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    path.mkdir(parents=True, exist_ok=True)
    words = sorted({w.strip(".,:").lower() for row in TOY_ROWS for w in " ".join(row).split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *"abcdefghijklmnopqrstuvwxyz0123456789.:,"]
    vocab += [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    (path / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    tok = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tok.pad_token_id,
    )
    LlamaForCausalLM(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def write_model_dir(path: Path, embedder: str, llm: str | None, weights: dict[str, float]) -> Path:
    """A classifier model directory as `thinkir train classifier` writes it, around given models."""
    path.mkdir(parents=True, exist_ok=True)
    write_toy_csv(path / "taxonomy.csv")
    config = {
        "taxonomy": "taxonomy.csv",
        "embedder": embedder,
        "llm": llm or "smollm2-135m",
        "weights": weights,
        "retrieve_k": 4,
        "beam_width": 2,
        "top_k": 3,
        "device": "cpu",
    }
    (path / "classifier.json").write_text(json.dumps(config))
    return path
