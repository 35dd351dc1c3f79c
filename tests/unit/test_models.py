from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from thinkir.errors import UnknownModelError
from thinkir.models import convert_gguf, registry_keys, resolve


def test_resolve_registry_path_and_hub_id(tmp_path: Path) -> None:
    assert Path(resolve("minilm", "embedder")).joinpath("config.json").is_file()
    assert resolve(str(tmp_path), "embedder") == str(tmp_path)
    assert resolve("org/some-model", "llm") == "org/some-model"


def test_unknown_name_and_wrong_kind_list_valid_keys() -> None:
    with pytest.raises(UnknownModelError, match=r"\['minilm'\]"):
        resolve("minilmm", "embedder")
    with pytest.raises(UnknownModelError, match="is a embedder, not a llm"):
        resolve("minilm", "llm")
    assert "smollm2-135m" in registry_keys("llm")


def test_gguf_conversion_runs_once_under_concurrency(tmp_path: Path) -> None:
    calls: list[int] = []

    def slow_converter(src: Path, tmp: Path) -> None:
        calls.append(1)
        tmp.mkdir(parents=True)
        time.sleep(0.3)  # long enough for the other threads to arrive while converting
        (tmp / "config.json").write_text("{}")

    out = tmp_path / "cache" / "model"
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(convert_gguf(tmp_path / "m.gguf", out, slow_converter)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert results == [out] * 4 and (out / "config.json").is_file()
    assert not list(out.parent.glob("model.tmp-*"))


def test_failed_conversion_leaves_no_model_and_is_retried(tmp_path: Path) -> None:
    out = tmp_path / "model"

    def crashing(src: Path, tmp: Path) -> None:
        tmp.mkdir()
        (tmp / "half-written.safetensors").write_text("x")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        convert_gguf(tmp_path / "m.gguf", out, crashing)
    assert not out.exists()

    def good(src: Path, tmp: Path) -> None:
        tmp.mkdir()
        (tmp / "config.json").write_text("{}")

    assert convert_gguf(tmp_path / "m.gguf", out, good) == out
    assert not list(tmp_path.glob("model.tmp-*"))  # the stale half conversion was cleaned up


@pytest.mark.slow
def test_packaged_smollm2_loads_from_the_cache_fast(tmp_path: Path) -> None:
    import torch

    from thinkir.models import load_causal_lm

    t0 = time.perf_counter()
    model, tok = load_causal_lm("smollm2-135m", device="cpu", cache_dir=tmp_path)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again, _ = load_causal_lm("smollm2-135m", device="cpu", cache_dir=tmp_path)
    second = time.perf_counter() - t0
    assert second < first / 3  # loading the converted copy skips the GGUF dequantisation
    ids = tok("The capital of France is", return_tensors="pt")
    with torch.inference_mode():
        torch.testing.assert_close(model(**ids).logits, again(**ids).logits)


def test_gguf_special_tokens_come_from_the_file(tmp_path: Path) -> None:
    """The conversion takes BOS / EOS / PAD from the GGUF metadata (transformers versions disagree)."""
    gguf = pytest.importorskip("gguf")
    from thinkir.models import gguf_special_tokens

    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "a", "b"])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_pad_token_id(2)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert gguf_special_tokens(path) == {
        "bos_token": "<|im_start|>",
        "eos_token": "<|im_end|>",
        "pad_token": "<|im_end|>",
    }
