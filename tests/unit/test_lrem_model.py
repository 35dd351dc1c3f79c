"""LREM model-side tests on a tiny random-weight Llama (built here, seconds on CPU).

Covers: special tokens added and embeddings resized; generation bounded and stopping at ``</think>``;
the embedding read at ``<emb>``; the embedder registry and manifest; cold start + a GRPO step + search
through :class:`SearchPipeline` with ``reason=always`` and ``auto``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("peft")

from thinkir.retrieval.reasoning.lm import EMB, END_THINK, SPECIAL_TOKENS, THINK, LremLM  # noqa: E402

DOCS = [
    ("d0", "Vitamin D", "Vitamin D deficiency lowers bone mineral density and raises fracture risk."),
    ("d1", "Smoking", "Tobacco smoking increases the risk of pulmonary tuberculosis infection."),
    ("d2", "MicroRNA", "MicroRNAs regulate the proliferation of cancer cells through gene silencing."),
    ("d3", "Statins", "Statins lower LDL cholesterol and reduce cardiovascular events."),
    ("d4", "Sleep", "Short sleep duration is associated with obesity in children."),
    ("d5", "Aspirin", "Low dose aspirin reduces the risk of colorectal cancer."),
]


def _tokenizer():
    from thinkir.models import resolve

    tok = transformers.AutoTokenizer.from_pretrained(resolve("minilm", "embedder"))
    return tok


@pytest.fixture(scope="module")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight 2-layer Llama with a real (MiniLM WordPiece) tokenizer, saved as a model folder."""
    torch.manual_seed(0)
    tok = _tokenizer()
    config = transformers.LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
    )
    model = transformers.LlamaForCausalLM(config)
    out = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def lm(tiny_lm_dir: Path) -> LremLM:
    return LremLM.load(str(tiny_lm_dir), device="cpu", max_doc_tokens=24)


def test_special_tokens_added_and_embeddings_resized(lm: LremLM, tiny_lm_dir: Path) -> None:
    base_vocab = len(_tokenizer())
    ids = [lm.tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS]
    assert ids == list(lm.special_ids) and len(set(ids)) == 3
    assert min(ids) >= base_vocab
    assert lm.model.get_input_embeddings().weight.shape[0] == len(lm.tokenizer) == base_vocab + 3
    # each special token is one token, never split
    for t in (THINK, END_THINK, EMB):
        assert lm.tokenizer(t, add_special_tokens=False)["input_ids"] == [lm.tokenizer.convert_tokens_to_ids(t)]
    # deterministic rows: a second load gives the same weights (adapters reload exactly)
    again = LremLM.load(str(tiny_lm_dir), device="cpu")
    w1, w2 = lm.model.get_input_embeddings().weight, again.model.get_input_embeddings().weight
    assert torch.equal(w1[ids], w2[ids])


def test_sequences_layout(lm: LremLM) -> None:
    seq = lm.query_ids("vitamin d and bones", "calcium, osteoporosis")
    assert seq[-2:] == [lm.end_id, lm.emb_id]
    assert seq.count(lm.think_id) == 1
    assert lm.query_ids("q", "")[-3:] == [lm.think_id, lm.end_id, lm.emb_id]
    doc = lm.document_ids("word " * 100)
    assert len(doc) == 24 and doc[-1] == lm.emb_id
    # document text cannot inject the special tokens
    assert lm.emb_id not in lm.document_ids("a <emb> b <think>")[:-1]
    long_kw = ", ".join(f"keyword{i}" for i in range(40))
    assert len(lm.keyword_ids(long_kw)) == lm.max_keyword_tokens == 16


def test_generation_is_bounded(lm: LremLM) -> None:
    queries = ["vitamin d and bones", "smoking and tuberculosis", "sleep"]
    for sample in (False, True):
        gens = lm.generate(queries, do_sample=sample, num_samples=3 if sample else 1)
        assert len(gens) == 3
        for per_q in gens:
            for g in per_q:
                assert len(g.ids) <= 16
                assert lm.end_id not in g.ids and lm.emb_id not in g.ids and lm.think_id not in g.ids


def _with_biased_head(lm: LremLM, token: int) -> LremLM:
    """The same model with an LM head that strongly prefers ``token`` at every position."""
    head = lm.model.get_output_embeddings()
    biased = torch.nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        biased.weight.copy_(head.weight)
        biased.bias.zero_()
        biased.bias[token] = 1e4
    lm.model.lm_head = biased
    return lm


def test_generation_stops_at_end_think(tiny_lm_dir: Path) -> None:
    lm = _with_biased_head(LremLM.load(str(tiny_lm_dir), device="cpu"), token=0)
    lm.model.lm_head.bias.data[lm.end_id] = 2e4  # </think> wins at the first step
    g = lm.generate(["vitamin d"])[0][0]
    assert g.ids == [] and g.closed and g.text == ""


def test_generation_is_cut_at_the_bound(tiny_lm_dir: Path) -> None:
    lm = LremLM.load(str(tiny_lm_dir), device="cpu")
    word = lm.tokenizer.convert_tokens_to_ids("calcium")
    lm = _with_biased_head(lm, token=word)  # never writes </think>
    for limit in (16, 5):
        g = lm.generate(["vitamin d"], max_keyword_tokens=limit)[0][0]
        assert g.ids == [word] * limit and not g.closed
    # the bound cannot be raised above the configured maximum (16)
    assert len(lm.generate(["vitamin d"], max_keyword_tokens=40)[0][0].ids) == 16
    # <think> and <emb> are never generated, even when preferred
    lm.model.lm_head.bias.data[lm.emb_id] = 3e4
    assert lm.emb_id not in lm.generate(["vitamin d"])[0][0].ids


def test_embedding_is_hidden_state_at_emb(lm: LremLM) -> None:
    seqs = [lm.query_ids("vitamin d", "calcium"), lm.document_ids("bone density and vitamin d")]
    with torch.inference_mode():
        vecs = lm.embed(seqs)
        for i, s in enumerate(seqs):
            out = lm.model(input_ids=torch.tensor([s]), output_hidden_states=True)
            ref = torch.nn.functional.normalize(out.hidden_states[-1][0, -1].float(), dim=-1)
            assert s[-1] == lm.emb_id
            assert torch.allclose(vecs[i], ref, atol=1e-5)
    # right padding does not change a short sequence's vector
    with torch.inference_mode():
        alone = lm.embed([seqs[0]])
    assert torch.allclose(alone[0], vecs[0], atol=1e-5)


def test_embedder_registry_and_manifest(tiny_lm_dir: Path, tmp_path: Path) -> None:
    from thinkir.indexing.builder import build_index
    from thinkir.retrieval.embedders import load_embedder

    enc = load_embedder(f"lrem:{tiny_lm_dir}", device="cpu")
    assert type(enc).__name__ == "ReasoningEmbedder" and enc.dimension == 32
    v = enc.encode(["a document"], kind="document")
    assert v.shape == (1, 32) and np.isclose(np.linalg.norm(v), 1.0, atol=1e-5)
    corpus = _write_corpus(tmp_path)
    report = build_index(corpus, tmp_path / "idx", embedder=enc, bm25="none", progress=False)
    m = report.manifest.embedder
    assert m.type == "lrem" and m.name == f"lrem:{tiny_lm_dir}" and m.model_id.startswith("lrem:")
    assert m.revision == enc.revision


def _write_corpus(folder: Path) -> Path:
    path = folder / "corpus.jsonl"
    path.write_text("".join(json.dumps({"_id": d, "title": t, "text": x}) + "\n" for d, t, x in DOCS))
    return path


def _write_training_rows(path: Path) -> Path:
    from thinkir.training.lrem_data import LremExample, write_examples

    rows = [
        LremExample("q0", "scifact", "vitamin d and bones", "fracture, mineral", f"{DOCS[0][1]} {DOCS[0][2]}", "d0"),
        LremExample(
            "q1",
            "scifact",
            "smoking harms lungs",
            "tuberculosis, pulmonary",
            f"{DOCS[1][1]} {DOCS[1][2]}",
            "d1",
            negative=f"{DOCS[3][1]} {DOCS[3][2]}",
        ),
        LremExample(
            "q2", "scifact", "gene regulation in tumours", "microrna, silencing", f"{DOCS[2][1]} {DOCS[2][2]}", "d2"
        ),
        LremExample("b0", "bright", "why do insects fly to light", "phototaxis, navigation"),
    ]
    write_examples(path, rows)
    return path


def test_end_to_end_cold_start_grpo_and_search(tiny_lm_dir: Path, tmp_path: Path) -> None:
    from thinkir.indexing.builder import build_index
    from thinkir.indexing.loader import load_index
    from thinkir.pipeline import SearchPipeline
    from thinkir.retrieval.reasoning.reasoner import LremReasoner, ReasonerConfig
    from thinkir.training.cold_start import ColdStartConfig, train_cold_start
    from thinkir.training.grpo import GRPOConfig, train_grpo

    data = _write_training_rows(tmp_path / "train.jsonl")
    common = dict(
        llm=str(tiny_lm_dir), data=str(data), device="cpu", max_doc_tokens=24, lora_r=2, lora_alpha=4, cpu_bf16=True
    )
    cold = train_cold_start(ColdStartConfig(out_dir=str(tmp_path / "cold"), max_steps=2, batch_size=4, **common))
    assert (cold / "adapter_config.json").is_file() and (cold / "lrem.json").is_file()
    from safetensors import safe_open

    with safe_open(str(cold / "adapter_model.safetensors"), "pt") as fh:  # saved in bf16: half the bytes
        assert {fh.get_tensor(k).dtype for k in fh.keys()} == {torch.bfloat16}  # noqa: SIM118
    log = json.loads((cold / "lrem.json").read_text())["log"]
    assert len(log) == 2 and all(np.isfinite(r["loss"]) for r in log)
    # the adapter carries the trained special-token rows (not the whole embedding matrix), and they
    # come back when it is merged
    base = LremLM.load(str(tiny_lm_dir), device="cpu")
    merged = LremLM.load(str(tiny_lm_dir), adapters=[str(cold)], device="cpu")
    ids = list(base.special_ids)
    w_base, w_merged = base.model.get_input_embeddings().weight, merged.model.get_input_embeddings().weight
    assert not torch.allclose(w_base[ids], w_merged[ids])
    assert torch.equal(w_base[: ids[0]], w_merged[: ids[0]])
    assert merged.revision != base.revision

    grpo = train_grpo(
        GRPOConfig(
            out_dir=str(tmp_path / "grpo"),
            adapters=(str(cold),),
            steps=1,
            group_size=4,
            queries_per_step=2,
            kl_beta=0.05,
            **common,
        )
    )
    stats = json.loads((grpo / "lrem.json").read_text())["log"][0]
    assert 0.0 <= stats["reward"] <= 1.7 and stats["kw_tokens"] <= 16
    assert sum(f.stat().st_size for f in grpo.glob("adapter_model.*")) < 15e6

    corpus = _write_corpus(tmp_path)
    spec = f"lrem:{tiny_lm_dir}+{cold}+{grpo}"
    build_index(corpus, tmp_path / "idx", embedder=spec, bm25="bm25s", progress=False, device="cpu")
    index = load_index(tmp_path / "idx", device="cpu")  # the embedder is rebuilt from the manifest
    assert index.manifest.embedder.type == "lrem" and len(index.embedder.lm.adapters) == 2
    reasoner = LremReasoner(ReasonerConfig(threshold=0.0))
    pipeline = SearchPipeline(index, reasoner=reasoner)
    res = pipeline.search("does smoking cause tuberculosis", k=3, reason="always")
    assert len(res.candidates) == 3 and isinstance(res.trace.reasoning, str)
    assert "reason_ms" in res.trace.timings_ms
    # the same query again is a cache hit and gives the same ranking
    again = pipeline.search("does smoking cause tuberculosis", k=3, reason="always")
    assert again.doc_ids() == res.doc_ids() and reasoner.cache.hits >= 1
    # auto with threshold 0 reasons for every query, with threshold > 1 for none
    assert pipeline.search("sleep and obesity", k=2, reason="auto").trace.reasoning is not None
    reasoner.router.threshold = 1.01
    direct = pipeline.search("sleep and obesity", k=2, reason="auto")
    assert direct.trace.reasoning is None
    assert direct.doc_ids() == pipeline.search("sleep and obesity", k=2, reason="never").doc_ids()


def test_two_tower_mode_uses_the_index_embedder(tiny_lm_dir: Path, lm: LremLM, tmp_path: Path) -> None:
    from thinkir.indexing.builder import build_index
    from thinkir.indexing.loader import load_index
    from thinkir.pipeline import SearchPipeline
    from thinkir.retrieval.reasoning.reasoner import LremReasoner, ReasonerConfig
    from thinkir.types import Query

    corpus = _write_corpus(tmp_path)
    build_index(corpus, tmp_path / "idx", embedder="minilm", bm25="none", progress=False, device="cpu")
    index = load_index(tmp_path / "idx", device="cpu")
    reasoner = LremReasoner(ReasonerConfig(mode=None), writer=lm)
    assert reasoner.mode_for(index) == "two_tower"
    assert reasoner.model_id.startswith("lrem:lrem-v1+tidy-v1+auto+")  # cache keys change with the tidying
    res = SearchPipeline(index, reasoner=reasoner).search("vitamin d", k=2, reason="always")
    assert isinstance(res.trace.reasoning, str) and len(res.candidates) == 2
    unified = LremReasoner(ReasonerConfig(mode="unified"), writer=lm)
    from thinkir.errors import StageUnavailableError

    with pytest.raises(StageUnavailableError):
        unified.encode([Query("q", "vitamin d")], "always", index)


def test_generated_keywords_are_tidied_like_the_training_data(tiny_lm_dir: Path) -> None:
    lm = LremLM.load(str(tiny_lm_dir), device="cpu")
    query = "does smoking cause tuberculosis"
    # repeats (by stem) and keywords the query already has are dropped; order is kept
    assert lm.tidy(query, "lungs, lungs, smoking, cancer , lung, Tuberculosis") == "lungs, cancer"
    assert lm.tidy(query, "smoking, smoking") == ""  # nothing new: the same as an empty reasoning
    long = ", ".join(f"term{i}" for i in range(40))
    assert len(lm.keyword_ids(lm.tidy(query, long))) <= lm.max_keyword_tokens
    raw = lm.generate([query, "bone density"], tidy=False)
    tidy = lm.generate([query, "bone density"])
    for q, r, t in zip([query, "bone density"], raw, tidy, strict=True):
        assert t[0].ids == r[0].ids  # the tokens are the model's; only the text is post-processed
        assert t[0].text == lm.tidy(q, r[0].text)
