"""Taxonomy loaders (NAICS, generic CSV), labelled examples, splits, configs and their bad-input errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_classify_helpers import TOY_ROWS, toy_taxonomy, write_toy_csv  # noqa: E402

from thinkir.classify.config import ClassifierConfig, ClassifierTrainConfig  # noqa: E402
from thinkir.classify.taxonomy import (  # noqa: E402
    Example,
    LabelText,
    Taxonomy,
    TaxonomyNode,
    load_csv,
    load_examples,
    load_taxonomy,
    naics_sector_map,
    split_examples,
)
from thinkir.errors import InputError  # noqa: E402


def test_structure_of_hand_made_taxonomy() -> None:
    tax = toy_taxonomy()
    assert tax.roots == ("A", "B")
    assert tax.children("A") == ("A1", "A2")
    assert tax.path("A1b") == ("A", "A1", "A1b")
    assert tax.depth("A1b") == 3 and tax.max_depth == 3
    assert tax.leaves_under("A") == ("A1a", "A1b", "A2a")
    assert tax.ancestor_at("A1b", 2) == "A1"
    assert tax.level_sizes() == {1: 2, 2: 3, 3: 4}
    assert tax.level_name(1) == "level1"


def test_label_text_modes() -> None:
    tax = toy_taxonomy()
    assert tax.label_text("A1a", LabelText.TITLE) == "Wheat farming."
    assert tax.label_text("A1a") == "Wheat farming. Growing wheat and wheat seed."
    assert tax.label_text("A1a", "path+title+description") == (
        "Food > Farming > Wheat farming. Growing wheat and wheat seed."
    )
    assert tax.label_text("A1a", max_chars=12) == "Wheat farming. Growing."


def test_generic_csv_round_trip(tmp_path: Path) -> None:
    tax = load_taxonomy(write_toy_csv(tmp_path / "toy.csv"))
    assert len(tax) == len(TOY_ROWS)
    assert tax["B1x"].parent == "B1" and tax["A"].parent is None


def test_missing_parent_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("code,parent,title,description\nA,,Food,\nA1,Z,Farming,\n")
    with pytest.raises(InputError, match=r"missing parents: A1 \(parent Z\)"):
        load_csv(path)


def test_unknown_format_and_missing_columns(tmp_path: Path) -> None:
    (tmp_path / "tax.json").write_text("{}")
    with pytest.raises(InputError, match="unknown taxonomy file format"):
        load_taxonomy(tmp_path / "tax.json")
    (tmp_path / "cols.csv").write_text("id,name\n1,x\n")
    with pytest.raises(InputError, match="missing column"):
        load_taxonomy(tmp_path / "cols.csv")
    with pytest.raises(InputError, match="not found"):
        load_taxonomy(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="neither"):
        load_taxonomy(tmp_path)


def test_duplicate_cycle_and_empty_are_errors() -> None:
    with pytest.raises(InputError, match="duplicate"):
        Taxonomy([TaxonomyNode("A", "a"), TaxonomyNode("A", "b")])
    with pytest.raises(InputError, match="cycle"):
        Taxonomy([TaxonomyNode("A", "a", parent="B"), TaxonomyNode("B", "b", parent="A")])
    with pytest.raises(InputError, match="no codes"):
        Taxonomy([])


def test_naics_sector_ranges() -> None:
    m = naics_sector_map(["11", "31-33", "44-45"])
    assert m["32"] == "31-33" and m["45"] == "44-45" and m["11"] == "11"


def test_naics_loader_on_shared_data(shared_data: Path) -> None:
    tax = load_taxonomy(shared_data / "naics")
    assert tax.level_sizes() == {1: 20, 2: 96, 3: 308, 4: 689, 5: 1012}
    assert tax.path("336110") == ("31-33", "336", "3361", "33611", "336110")
    assert tax.path("484110")[0] == "48-49" and tax.path("441110")[0] == "44-45"
    assert [tax.level_name(d) for d in range(1, 6)] == ["2digit", "3digit", "4digit", "5digit", "6digit"]
    # five-digit codes whose description only points at the six-digit one get that text
    assert tax["11111"].description == tax["111110"].description != ""
    assert "Cross-References" not in tax["311421"].description
    examples = load_examples(shared_data / "naics" / "naics_2022_index_train.csv", tax)
    assert len(examples) == 16358 - 22  # the "******" cross-reference rows are skipped
    assert all(tax.is_leaf(e.code) for e in examples)


def test_examples_loader_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("foo,bar\n1,2\n")
    with pytest.raises(InputError, match="expected columns"):
        load_examples(bad)
    unknown = tmp_path / "u.csv"
    unknown.write_text("code,description\nZZ,something\n")
    with pytest.raises(InputError, match="not in taxonomy"):
        load_examples(unknown, toy_taxonomy())
    with pytest.raises(InputError, match="format"):
        load_examples(write_toy_csv(tmp_path / "t.csv").rename(tmp_path / "t.tsv"))


def test_split_is_reproducible_and_by_description() -> None:
    examples = [Example(f"text {i % 50}", "A1a") for i in range(100)]  # every text twice
    train, dev, tune = split_examples(examples, 0.2, seed=7, tune_fraction=0.1)
    again = split_examples(examples, 0.2, seed=7, tune_fraction=0.1)
    assert (train, dev, tune) == again
    texts = [{e.text for e in part} for part in (train, dev, tune)]
    assert not (texts[0] & texts[1]) and not (texts[0] & texts[2]) and not (texts[1] & texts[2])
    assert len(texts[1]) == 10 and len(texts[2]) == 5 and len(dev) == 20
    assert split_examples(examples, 0.2, seed=8)[1] != dev


def test_train_config_from_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(json.dumps({"seed": 5, "batch_size": 8, "classifier": {"beam_width": 2}}))
    cfg = ClassifierTrainConfig.from_file(tmp_path / "c.json")
    assert cfg.seed == 5 and cfg.batch_size == 8 and cfg.classifier == {"beam_width": 2}
    (tmp_path / "c.yaml").write_text("seed: 9\nmax_steps: 3\n")
    assert ClassifierTrainConfig.from_file(tmp_path / "c.yaml").max_steps == 3
    (tmp_path / "bad.json").write_text(json.dumps({"sed": 1}))
    with pytest.raises(InputError, match="unknown training option"):
        ClassifierTrainConfig.from_file(tmp_path / "bad.json")
    (tmp_path / "c.toml").write_text("seed = 1")
    with pytest.raises(InputError, match="unknown config file format"):
        ClassifierTrainConfig.from_file(tmp_path / "c.toml")


def test_classifier_config_validation() -> None:
    with pytest.raises(InputError, match="unknown voter"):
        ClassifierConfig(weights={"oracle": 1.0})
    with pytest.raises(InputError, match="at least one"):
        ClassifierConfig(weights={"retriever": 0.0})
    with pytest.raises(InputError, match="unknown classifier option"):
        ClassifierConfig.from_dict({"beam": 3})
