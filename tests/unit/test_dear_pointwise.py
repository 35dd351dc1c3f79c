"""Stage 1 on a tiny random Llama: pooling, adapter save/reload, and the released checkpoint format."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from dear_fixtures import llama_config, make_base, make_tokenizer  # noqa: E402

from thinkir.rerank.dear import AdapterHost  # noqa: E402
from thinkir.rerank.pointwise import (  # noqa: E402
    POINTWISE_ADAPTER,
    DearPointwiseReranker,
    PointwiseSettings,
    last_token_pool,
)
from thinkir.types import Candidate, Document, Query  # noqa: E402

DOCS = [
    Document("a", "Fever is caused by infection.", "Fever"),
    Document("b", "Paris is in France."),
    Document("c", "Plants use light for photosynthesis, a long process with many steps."),
]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_base(tmp_path_factory.mktemp("base"))


def _trained_like_host(base: Path) -> AdapterHost:
    from peft import LoraConfig

    host = AdapterHost(str(base), device="cpu")
    host.add_adapter(
        POINTWISE_ADAPTER,
        LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"]),
        with_head=True,
    )
    torch.manual_seed(1)
    with torch.no_grad():  # LoRA B starts at zero: give the adapter a real effect
        for n, p in host.peft.named_parameters():
            if "lora_B" in n:
                p.normal_(std=0.5)
    return host


def test_last_token_pool_left_and_right_padding() -> None:
    hidden = torch.arange(2 * 4 * 1, dtype=torch.float32).view(2, 4, 1)
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert last_token_pool(hidden, right)[:, 0].tolist() == [1.0, 7.0]
    assert last_token_pool(hidden, left)[:, 0].tolist() == [3.0, 7.0]


def test_encoder_appends_the_end_token_the_adapter_was_trained_with(base: Path) -> None:
    """An adapter records its tokenizer's EOS; scoring appends (and pools) that token, not today's EOS."""
    from transformers import AutoTokenizer

    from thinkir.rerank.pointwise import PointwiseEncoder

    tok = AutoTokenizer.from_pretrained(str(base))
    im_start, im_end = tok.convert_tokens_to_ids("<|im_start|>"), tok.convert_tokens_to_ids("<|im_end|>")
    assert tok.eos_token_id == im_end != im_start
    default = PointwiseEncoder(tok, PointwiseSettings()).encode("q", DOCS)
    assert {row[-1] for row in default} == {im_end}
    recorded = PointwiseEncoder(tok, PointwiseSettings(eos_token="<|im_start|>")).encode("q", DOCS)
    assert {row[-1] for row in recorded} == {im_start}
    assert [r[:-1] for r in recorded] == [r[:-1] for r in default]
    with pytest.raises(ValueError, match="not in this tokenizer"):
        PointwiseEncoder(tok, PointwiseSettings(eos_token="<|nope|>")).encode("q", DOCS)


def test_scores_do_not_depend_on_batching(base: Path) -> None:
    host = _trained_like_host(base)
    model = DearPointwiseReranker(host, settings=PointwiseSettings(batch_size=1))
    alone = model.score_documents("what causes fever", DOCS)
    model.settings = PointwiseSettings(batch_size=8)  # padded together
    together = model.score_documents("what causes fever", DOCS)
    assert together == pytest.approx(alone, abs=1e-5)
    assert len(set(round(s, 5) for s in alone)) == 3


def test_adapter_reload_gives_identical_scores(base: Path, tmp_path: Path) -> None:
    host = _trained_like_host(base)
    settings = PointwiseSettings(q_max_len=16, p_max_len=24)
    model = DearPointwiseReranker(host, settings=settings)
    before = model.score_documents("what causes fever", DOCS)
    saved = host.save_adapter(
        POINTWISE_ADAPTER,
        tmp_path / "adapter",
        {"q_max_len": 16, "p_max_len": 24, "append_eos": True, "base_model": str(base)},
        save_dtype="float32",
    )
    reloaded = DearPointwiseReranker.from_pretrained(saved, device="cpu")
    assert reloaded.settings.p_max_len == 24
    assert reloaded.score_documents("what causes fever", DOCS) == pytest.approx(before, abs=1e-6)
    ranked = reloaded.rerank_texts("what causes fever", [d.text for d in DOCS])
    assert sorted(ranked.doc_ids()) == ["0", "1", "2"]


def test_saved_adapter_loads_as_sequence_classification(base: Path, tmp_path: Path) -> None:
    """thinkir's stage-1 adapter is the DeAR/peft SEQ_CLS format: plain transformers + peft read it."""
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    host = _trained_like_host(base)
    ours = DearPointwiseReranker(host, settings=PointwiseSettings(append_eos=True))
    saved = host.save_adapter(POINTWISE_ADAPTER, tmp_path / "adapter", {"base_model": str(base)}, save_dtype="float32")
    hf = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
    hf = PeftModel.from_pretrained(hf, str(saved)).eval()
    rows = ours.encoder.encode("what causes fever", DOCS)
    with torch.inference_mode():
        want = [hf(input_ids=torch.tensor([r])).logits[0, 0].item() for r in rows]
    assert ours.score_documents("what causes fever", DOCS) == pytest.approx(want, abs=1e-5)


def test_released_checkpoint_format_loads(tmp_path: Path) -> None:
    """A LlamaForSequenceClassification + peft SEQ_CLS LoRA saved as DeAR releases it (dear-8b-…-ce-lora-v1)."""
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import LlamaForCausalLM, LlamaForSequenceClassification

    base_dir = tmp_path / "llama-base"
    tok = make_tokenizer(base_dir)
    torch.manual_seed(0)
    LlamaForCausalLM(llama_config(len(tok), tok.pad_token_id)).save_pretrained(str(base_dir))
    seq = LlamaForSequenceClassification.from_pretrained(str(base_dir), num_labels=1)
    cfg = LoraConfig(
        task_type="SEQ_CLS",
        r=8,
        lora_alpha=16,
        lora_dropout=0.1,
        target_modules=["q_proj", "v_proj", "o_proj", "down_proj", "up_proj", "gate_proj"],
        base_model_name_or_path=str(base_dir),
    )
    peft_seq = get_peft_model(seq, cfg)
    torch.manual_seed(2)
    with torch.no_grad():
        for n, p in peft_seq.named_parameters():
            if "lora_B" in n or "score" in n:
                p.normal_(std=0.3)
    adapter = tmp_path / "dear-8b-reranker-ce-lora-v1"
    peft_seq.save_pretrained(str(adapter))

    ours = DearPointwiseReranker.from_pretrained(adapter, device="cpu")
    assert ours.settings.append_eos is False  # foreign checkpoint: reference inputs
    reference = PeftModel.from_pretrained(
        LlamaForSequenceClassification.from_pretrained(str(base_dir), num_labels=1), str(adapter)
    ).eval()
    rows = ours.encoder.encode("what causes fever", DOCS)
    with torch.inference_mode():
        want = [reference(input_ids=torch.tensor([r])).logits[0, 0].item() for r in rows]
    assert ours.score_documents("what causes fever", DOCS) == pytest.approx(want, abs=1e-5)
    ranked = ours.rerank(Query("q", "what causes fever"), [Candidate(d.id, 0.0, d) for d in DOCS])
    assert ranked.doc_ids() == [d.id for _, d in sorted(zip(want, DOCS, strict=True), key=lambda p: -p[0])]
