"""Stage 2 and the two-stage reranker: windows, prompts, and a tiny train -> save -> reload -> rerank."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thinkir.rerank.listwise import sliding_windows
from thinkir.training.data_rerank import ListwiseExample, listwise_examples, shorten_words
from thinkir.training.listwise import renumber


def test_sliding_windows_back_to_front() -> None:
    assert sliding_windows(30, 20, 10) == [(10, 30), (0, 20)]
    assert sliding_windows(30, 5, 3)[0] == (25, 30)
    assert sliding_windows(30, 5, 3)[-1] == (0, 5)
    assert sliding_windows(4, 5, 3) == [(0, 4)]
    assert sliding_windows(1, 5, 3) == []
    with pytest.raises(ValueError):
        sliding_windows(10, 1, 1)


def test_renumber_keeps_ranking_and_rationale_consistent() -> None:
    ex = ListwiseExample("q", ("a", "b", "c"), (2, 0, 1), "[3] is best, then [1].")
    moved = renumber(ex, [2, 0, 1])  # new order of passages: c, a, b
    assert moved.passages == ("c", "a", "b")
    assert [moved.passages[p] for p in moved.order] == ["c", "a", "b"]
    assert moved.rationale == "[1] is best, then [2]."


def test_listwise_rows_parse_and_drop_invalid(tmp_path: Path) -> None:
    from dear_fixtures import write_training_data

    paths = write_training_data(tmp_path)
    rows = listwise_examples([paths["reasoning"]])
    assert len(rows) == 2  # the row with a repeated id is dropped
    assert rows[0].order == (0, 3, 2, 1, 4)
    assert "names the cause" in rows[0].rationale
    assert shorten_words("First sentence here. Second one is long.", 6) == "First sentence here."
    assert shorten_words("a b c d", 2) == "a b …"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both stages trained for a few steps on a tiny random Llama (seconds)."""
    pytest.importorskip("peft")
    from dear_fixtures import make_base, write_training_data

    from thinkir.training import load_config
    from thinkir.training.listwise import ListwiseTrainConfig
    from thinkir.training.listwise import train as train_listwise
    from thinkir.training.pointwise import PointwiseTrainConfig
    from thinkir.training.pointwise import train as train_pointwise

    root = tmp_path_factory.mktemp("dear")
    base = make_base(root / "base")
    data = write_training_data(root / "data")
    common = {
        "base_model": str(base),
        "reasoning_dirs": [str(data["reasoning"])],
        "max_steps": 3,
        "epochs": 10,
        "batch_size": 2,
        "checkpoint_every": 2,
        "log_every": 1,
        "dev_fraction": 0.0,
        "device": "cpu",
        "progress": False,
        "lora_r": 4,
        "lora_alpha": 8,
        "save_dtype": "float32",
    }
    p_cfg_file = root / "p.json"
    p_cfg_file.write_text(
        json.dumps(
            {
                **common,
                "output_dir": str(root / "p"),
                "triples": str(data["triples"]),
                "scifact_dir": None,
                "teacher": None,
                "n_negatives": 2,
                "q_max_len": 16,
                "p_max_len": 32,
            }
        )
    )
    p_adapter = train_pointwise(load_config(PointwiseTrainConfig, p_cfg_file))
    l_cfg = ListwiseTrainConfig(
        **{
            **common,
            "output_dir": str(root / "l"),
            "passage_tokens": 16,
            "max_new_tokens": 12,
            "window_size": 3,
            "step": 2,
            "dev_windows": 2,
        }
    )
    l_adapter = train_listwise(l_cfg)
    return {"root": root, "base": base, "pointwise": p_adapter, "listwise": l_adapter}


def test_training_writes_adapters_configs_and_checkpoints(trained: dict[str, Path]) -> None:
    root = trained["root"]
    for stage in ("p", "l"):
        assert (root / stage / "run_config.json").is_file()
        assert (root / stage / "checkpoint" / "state.pt").is_file()
        metrics = json.loads((root / stage / "metrics.json").read_text())
        assert metrics["steps"] == 3
    p_cfg = json.loads((trained["pointwise"] / "adapter_config.json").read_text())
    assert p_cfg["task_type"] == "SEQ_CLS"
    l_cfg = json.loads((trained["listwise"] / "adapter_config.json").read_text())
    assert l_cfg["task_type"] == "CAUSAL_LM"


def test_adapters_record_the_end_token_they_were_trained_with(trained: dict[str, Path]) -> None:
    from transformers import AutoTokenizer

    from thinkir.rerank.listwise import ListwisePrompter, ListwiseSettings

    for stage in ("pointwise", "listwise"):
        meta = json.loads((trained[stage] / "thinkir_adapter.json").read_text())
        assert meta["eos_token"] == "<|im_end|>", stage  # the tiny tokenizer's EOS
    tok = AutoTokenizer.from_pretrained(str(trained["base"]))
    other = ListwisePrompter(tok, ListwiseSettings(eos_token="<|im_start|>")).target_ids([2, 1, 3], "why")
    own = ListwisePrompter(tok, ListwiseSettings()).target_ids([2, 1, 3], "why")
    assert own[-1] == tok.eos_token_id and other[-1] == tok.convert_tokens_to_ids("<|im_start|>")
    assert own[:-1] == other[:-1]


def test_training_resumes_from_checkpoint(trained: dict[str, Path]) -> None:
    from thinkir.training.listwise import ListwiseTrainConfig, train

    root = trained["root"]
    cfg = json.loads((root / "l" / "run_config.json").read_text())
    cfg["max_steps"] = 4
    train(ListwiseTrainConfig(**cfg))
    metrics = json.loads((root / "l" / "metrics.json").read_text())
    assert metrics["steps"] == 4
    assert len(metrics["log"]) == 1  # only step 4 ran after resuming at step 3


def test_two_stages_share_one_base_and_rerank(trained: dict[str, Path]) -> None:
    from dataclasses import replace

    from thinkir.rerank import load_reranker
    from thinkir.rerank.dear import DearReranker, load_dear
    from thinkir.types import Candidate, Document, Query

    dear = load_dear(str(trained["pointwise"]), str(trained["listwise"]), device="cpu", listwise_depth=4)
    assert isinstance(dear, DearReranker)
    saved = dear.listwise.settings  # from the adapter's thinkir_adapter.json: the training run's window
    assert (saved.window_size, saved.step, saved.eos_token) == (3, 2, "<|im_end|>")
    tuned = load_dear(str(trained["pointwise"]), str(trained["listwise"]), device="cpu", max_new_tokens=5, step=1)
    assert tuned.listwise.settings == replace(saved, max_new_tokens=5, step=1)  # overrides keep the rest
    assert dear.pointwise.host is dear.listwise.host
    assert dear.pointwise.host.adapters() == ["listwise", "pointwise"]
    docs = [
        Document(str(i), t)
        for i, t in enumerate(
            [
                "Fever is caused by infection.",
                "Paris is in France.",
                "Plants use light.",
                "Heat and fever.",
                "A tall tower.",
            ]
        )
    ]
    cands = [Candidate(d.id, 0.0, d) for d in docs]
    ranked = dear.rerank(Query("q1", "what causes fever"), cands)
    assert sorted(ranked.doc_ids()) == [d.id for d in docs]
    assert set(ranked.trace.timings_ms) == {"stage1_ms", "stage2_ms"}
    assert int(ranked.trace.notes["windows"]) == 2  # 4 listwise candidates, window 3, step 2
    # stage 1 alone gives the same scores through the registry factory (cli registers it)
    import thinkir.cli.rerank  # noqa: F401

    p = load_reranker("dear-pointwise", adapter=str(trained["pointwise"]), device="cpu")
    assert (
        p.rerank(Query("q1", "what causes fever"), cands).doc_ids()
        == dear.pointwise.rerank(Query("q1", "what causes fever"), cands).doc_ids()
    )


def test_dear_dtype_env_loads_the_stages_in_bf16(trained: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from thinkir.errors import StageUnavailableError
    from thinkir.rerank import load_reranker

    monkeypatch.setenv("THINKIR_DEAR_DTYPE", "bfloat16")
    p = load_reranker("dear-pointwise", adapter=str(trained["pointwise"]), device="cpu")
    import torch

    assert p.host.dtype == torch.bfloat16 and next(p.host.base.parameters()).dtype == torch.bfloat16
    scores = p.score("what causes fever", ["Fever is caused by infection.", "Paris is in France."])
    assert all(isinstance(s, float) and s == s for s in scores)  # finite floats from the fp32 head
    monkeypatch.setenv("THINKIR_DEAR_DTYPE", "float32")
    assert load_reranker("dear-pointwise", adapter=str(trained["pointwise"]), device="cpu").host.dtype == torch.float32
    monkeypatch.setenv("THINKIR_DEAR_DTYPE", "bf17")
    with pytest.raises(StageUnavailableError, match="bfloat16"):
        load_reranker("dear-pointwise", adapter=str(trained["pointwise"]), device="cpu")


def test_eval_script_runs_stage1_then_stage2_from_its_rankings(
    trained: dict[str, Path], shared_data: Path, tmp_path: Path
) -> None:
    """scripts/dear_eval.py: a stage-1 run, then stage 2 over its saved rankings (the CPU split)."""
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "scripts" / "dear_eval.py"
    spec = importlib.util.spec_from_file_location("dear_eval_script", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    common = ["--data", str(shared_data), "--cache", str(tmp_path / "cache"), "--teacher", ""]
    common += ["--datasets", "dl19", "--max-queries", "2", "--depth", "dl19=6", "--device", "cpu"]
    one, two = tmp_path / "one", tmp_path / "two"
    mod.main(["run", *common, "--out", str(one), "--pointwise", str(trained["pointwise"])])
    second_run = ["run", *common, "--out", str(two), "--stage1-from", str(one)]
    mod.main([*second_run, "--listwise", str(trained["listwise"]), "--stage2-depth", "4", "--latency-queries", "0"])
    first = json.loads((one / "eval_summary.json").read_text())["datasets"]["dl19"]
    second = json.loads((two / "eval_summary.json").read_text())["datasets"]["dl19"]
    assert set(first["metrics"]) == {"bm25", "stage1"} and "stage2" not in first
    assert set(second["metrics"]) == {"bm25", "stage1", "stage1+2"}
    assert second["metrics"]["stage1"] == first["metrics"]["stage1"]  # reused, not rescored
    assert second["latency_ms"]["stage1_ms_p50"] == first["latency_ms"]["stage1_ms_p50"]
    assert second["stage2"]["windows"] == 2 * 2  # 2 queries; 4 head candidates, window 3, step 2: 2 windows each
    runs1 = mod.read_run(two / "runs" / "dl19.stage1.trec")
    runs12 = mod.read_run(two / "runs" / "dl19.stage1_2.trec")
    for q, ranked in runs1.items():
        assert len(ranked) == 6 and sorted(runs12[q]) == sorted(ranked)
        assert runs12[q][4:] == ranked[4:]  # stage 2 only reorders the stage-1 head
    assert "stage1+2_vs_stage1" in second["significance_nDCG@10"]


def test_budget_forcing_closes_the_reasoning_and_asks_for_the_ranking(
    trained: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window still reasoning when max_new_tokens runs out gets </think> appended and a short second
    generation; a window that answered is left alone. (The LM is scripted; the forcing logic is real.)"""
    from thinkir.rerank.listwise import ListwiseReranker
    from thinkir.types import Candidate, Document, Query

    stage2 = ListwiseReranker.from_pretrained(str(trained["listwise"]), device="cpu")
    calls: list[tuple[list[list[int]], int | None]] = []

    def scripted(prompts, max_new_tokens=None):  # noqa: ANN001, ANN202
        calls.append(([list(p) for p in prompts], max_new_tokens))
        if len(calls) == 1:  # first pass: one window answers, one runs out of budget inside <think>
            return ["<think>fever first</think>\n[2] > [1] > [3]", "<think>passage [1] mentions fever and [2]"]
        return ["[3] > [1] > [2]"]

    monkeypatch.setattr(stage2, "generate", scripted)
    texts, forced = stage2.complete([[1, 2], [3, 4]], [3, 3])
    assert forced == [False, True]
    assert texts[0] == "<think>fever first</think>\n[2] > [1] > [3]"
    assert texts[1] == "<think>passage [1] mentions fever and [2]\n</think>\n[3] > [1] > [2]"
    (second_prompts, budget) = calls[1]
    assert budget == stage2.settings.answer_tokens and len(second_prompts) == 1
    tail = stage2.host.tokenizer.decode(second_prompts[0][2:])
    assert second_prompts[0][:2] == [3, 4] and tail.endswith("</think>\n")

    calls.clear()
    monkeypatch.setattr(
        stage2,
        "generate",
        lambda prompts, max_new_tokens=None: (
            calls.append(([], max_new_tokens)) or ["<think>fever first</think>\n[2] > [1] > [3]"] * len(prompts)
        ),
    )
    docs = [Document(str(i), t) for i, t in enumerate(["a fever", "b", "c"])]
    ranked = stage2.rerank(Query("q", "fever"), [Candidate(d.id, 0.0, d) for d in docs])
    assert ranked.doc_ids() == ["1", "0", "2"]  # the first scripted answer ([2] > [1] > [3]) was used
    assert ranked.trace.notes["forced"] == "0" and len(calls) == 1
