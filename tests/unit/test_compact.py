from __future__ import annotations

from pathlib import Path

import numpy as np

from thinkir.compact import compact_model, is_compact
from thinkir.models import resolve
from thinkir.retrieval.embedders import SentenceTransformerEmbedder


def test_compact_copy_loads_through_resolve_and_embeds_like_the_original(
    tiny_embedder_path: str, tmp_path: Path, monkeypatch
) -> None:
    from safetensors.numpy import load_file, save_file

    # give the tiny model a vocabulary-sized matrix so the int8 path is exercised
    src = tmp_path / "src"
    import shutil

    shutil.copytree(tiny_embedder_path, src)
    weights = load_file(str(src / "model.safetensors"))
    weights["extra.big_rows"] = np.random.default_rng(0).standard_normal((12_000, 8)).astype(np.float32)
    save_file(weights, str(src / "model.safetensors"))

    compact = tmp_path / "compact"
    compact_model(src, compact)
    assert is_compact(compact) and not (compact / "model.safetensors").exists()
    monkeypatch.setenv("THINKIR_CACHE_DIR", str(tmp_path / "cache"))
    expanded = Path(resolve(str(compact), "embedder"))
    assert expanded != compact and (expanded / "model.safetensors").is_file()
    assert resolve(str(compact), "embedder") == str(expanded)  # expanded once, then reused
    restored = load_file(str(expanded / "model.safetensors"))
    big = weights["extra.big_rows"]
    assert np.abs(restored["extra.big_rows"] - big).max() <= np.abs(big).max(axis=1).max() / 127
    texts = ["vitamin d deficiency", "coffee flasks on long hikes"]
    a = SentenceTransformerEmbedder(str(src), device="cpu").encode(texts)
    b = SentenceTransformerEmbedder(str(compact), device="cpu").encode(texts)
    assert ((a * b).sum(axis=1) > 0.999).all()  # fp16 weights: the same embeddings to 3 decimals
