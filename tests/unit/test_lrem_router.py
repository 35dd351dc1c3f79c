"""Router decisions on synthetic signals, the reasoning cache, and the data post-processing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from thinkir.errors import InputError
from thinkir.retrieval.reasoning.cache import LRUCache, ReasoningCache, cache_key
from thinkir.retrieval.reasoning.router import Router, router_features
from thinkir.training.lrem_data import (
    LremDataConfig,
    keep_by_filter,
    load_config,
    postprocess_keywords,
    salient_terms,
    split_dev,
)


def test_router_features_hand_values() -> None:
    scores = np.array([[0.9, 0.8, 0.5], [0.6, 0.59, 0.58]], dtype=np.float32)
    dense = np.array([[1, 2, 3], [4, 5, 6]])
    lexical = np.array([[3, 2, 1], [7, 8, -1]])
    f = router_features(scores, dense, lexical, [3, 12], k=3)
    assert f[:, 0] == pytest.approx([0.4, 0.02], abs=1e-6)
    assert f[:, 1] == pytest.approx([0.0, 1.0])
    assert f[:, 2] == pytest.approx([np.log(4), np.log(13)])
    assert router_features(scores, dense, None, [3, 12], k=3)[:, 1] == pytest.approx([0.5, 0.5])


def test_router_decisions_on_synthetic_signals() -> None:
    router = Router()
    easy = [0.3, 0.0, np.log(8)]  # a clear winner that BM25 agrees with
    hard = [0.01, 1.0, np.log(4)]  # a flat top, BM25 disagrees
    feats = np.array([easy, hard])
    assert router.decide(feats).tolist() == [False, True]
    assert router.decide(feats, threshold=0.0).all()
    assert not router.decide(feats, threshold=1.01).any()
    rng = np.random.default_rng(0)
    many = np.column_stack([rng.uniform(0, 0.3, 500), rng.uniform(0, 1, 500), rng.uniform(1, 3, 500)])
    shares = [router.decide(many, t).mean() for t in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert shares == sorted(shares, reverse=True) and shares[0] == 1.0


def test_router_fit_and_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.uniform(0, 0.3, 400), rng.uniform(0, 1, 400), rng.uniform(1, 3, 400)])
    y = (x[:, 1] > 0.6).astype(float)  # reasoning helps where dense and BM25 disagree
    router = Router().fit(x, y)
    assert ((router.probability(x) >= 0.5) == y.astype(bool)).mean() > 0.9
    assert router.weights[1] > 0
    router.save(tmp_path / "router.json")
    again = Router.load(tmp_path / "router.json")
    assert np.allclose(again.probability(x), router.probability(x))
    with pytest.raises(InputError):
        Router().fit(x, y[:3])


def test_lru_cache_hit_eviction_and_keys() -> None:
    cache = LRUCache(maxsize=2)
    assert isinstance(cache, ReasoningCache)
    k1 = cache_key("HuggingFaceTB/SmolLM2-135M-Instruct@abc", "lrem-v1", "vitamin d")
    assert k1 != cache_key("HuggingFaceTB/SmolLM2-135M-Instruct@def", "lrem-v1", "vitamin d")
    assert k1 != cache_key("HuggingFaceTB/SmolLM2-135M-Instruct@abc", "lrem-v2", "vitamin d")
    assert k1 == cache_key("HuggingFaceTB/SmolLM2-135M-Instruct@abc", "lrem-v1", "vitamin d")
    assert k1.startswith("lrem:lrem-v1:") and len(k1) < 64
    assert cache.get(k1) is None
    cache.set(k1, "calcium, osteoporosis")
    assert cache.get(k1) == "calcium, osteoporosis" and cache.hits == 1 and cache.misses == 1
    cache.set("b", "x")
    cache.get(k1)  # k1 is now the most recent
    cache.set("c", "y")  # evicts "b"
    assert cache.get("b") is None and cache.get(k1) is not None and len(cache) == 2
    off = LRUCache(maxsize=0)
    off.set("a", "b")
    assert off.get("a") is None


def test_postprocess_keywords_dedupes_drops_query_words_and_bounds_length() -> None:
    def count(text: str) -> int:  # one token per word, plus one per comma
        return len(text.replace(",", " ,").split())

    kws = ["Calcium", "calcium", "vitamin", "bone density", "osteoporosis", "fractures", "fracture"]
    text = postprocess_keywords(kws, "Vitamin D and bones", count, max_tokens=16)
    assert text == "Calcium, bone density, osteoporosis, fractures"  # 'bone density' keeps a new word
    many = [f"term{i}" for i in range(30)]
    bounded = postprocess_keywords(many, "q", count, max_tokens=16)
    assert count(" " + bounded) <= 16 and bounded.startswith("term0, term1")
    assert postprocess_keywords(["vitamin", "d"], "vitamin d", count) == ""


def test_salient_terms_skip_query_and_stopwords() -> None:
    from collections import Counter

    df = Counter({"vitamin": 50, "calcium": 2, "osteoporosi": 1, "bone": 30})
    terms = salient_terms(
        "vitamin levels", "Vitamin D deficiency and calcium in osteoporosis", df, 100, title="Osteoporosis", max_terms=3
    )
    assert "vitamin" not in terms and "and" not in terms and terms[0] == "osteoporosis"


def test_filter_modes_and_dev_split() -> None:
    plain = np.array([1, 20, 20, 5])
    aug = np.array([1, 3, 30, 2])
    assert keep_by_filter(plain, aug, "gain", 10).tolist() == [False, True, False, False]
    assert keep_by_filter(plain, aug, "improves", 10).tolist() == [False, True, False, True]
    assert keep_by_filter(plain, aug, "none", 10).all()
    with pytest.raises(InputError):
        keep_by_filter(plain, aug, "other", 10)
    ids = [str(i) for i in range(100)]
    tr, dev = split_dev(ids, 0.2, 13)
    assert len(dev) == 20 and not set(tr) & set(dev) and set(tr) | set(dev) == set(ids)
    assert split_dev(list(reversed(ids)), 0.2, 13) == (tr, dev)


def test_load_config_sections_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"data": {"filter": "improves", "bright_domains": ["biology"]}, "other": {}}))
    cfg = load_config(LremDataConfig, path, "data", ["data.filter_k=5", "grpo.steps=3", "seed=1"])
    assert cfg.filter == "improves" and cfg.filter_k == 5 and cfg.seed == 1
    assert cfg.bright_domains == ("biology",)
    with pytest.raises(InputError):
        load_config(LremDataConfig, path, "data", ["nope=1"])
    yaml_path = tmp_path / "c.yaml"
    yaml_path.write_text("data:\n  max_bright: 7\n")
    assert load_config(LremDataConfig, yaml_path, "data").max_bright == 7


def test_reasoner_config_defaults_to_the_packaged_reasoner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from thinkir.retrieval.reasoning import reasoner as mod

    for var in ("ADAPTERS", "ROUTER", "THRESHOLD", "LLM", "MODE"):
        monkeypatch.delenv(f"THINKIR_REASONER_{var}", raising=False)
    trained = tmp_path / "trained"
    for stage in ("cold_start", "grpo"):
        (trained / stage).mkdir(parents=True)
        (trained / stage / "adapter_config.json").write_text("{}")
    Router(threshold=0.37).save(trained / "router.json")
    monkeypatch.setattr(mod, "TRAINED_DIR", trained)

    cfg = mod.ReasonerConfig.from_env()
    assert cfg.adapters == (str(trained / "cold_start"), str(trained / "grpo"))  # merge order
    assert cfg.router_path == str(trained / "router.json") and cfg.threshold == pytest.approx(0.37)
    monkeypatch.setenv("THINKIR_REASONER_THRESHOLD", "0.9")  # explicit settings win
    assert mod.ReasonerConfig.from_env().threshold == 0.9
    monkeypatch.setenv("THINKIR_REASONER_ADAPTERS", "")  # opting out drops the packaged router too
    cfg = mod.ReasonerConfig.from_env()
    assert cfg.adapters == () and cfg.router_path is None
    monkeypatch.delenv("THINKIR_REASONER_ADAPTERS")
    other = mod.ReasonerConfig.from_env(llm="some/other-llm")  # adapters belong to SmolLM2 only
    assert other.adapters == () and other.router_path is None


def test_committed_reasoner_files_are_complete() -> None:
    from thinkir.retrieval.reasoning.reasoner import TRAINED_DIR, packaged_reasoner

    adapters, router = packaged_reasoner()
    if not adapters:
        pytest.skip("no packaged reasoner in this checkout")
    for folder in map(Path, adapters):
        meta = json.loads((folder / "lrem.json").read_text())
        assert meta["llm"] == "smollm2-135m" and meta["log"], folder
        size = sum(f.stat().st_size for f in folder.glob("adapter_model.*"))
        assert 0 < size < 8e6, f"{folder}: {size} bytes"
    assert router is not None and 0.0 <= Router.load(router).threshold <= 1.01
    assert (TRAINED_DIR / "README.md").is_file()
