from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from thinkir.errors import InputError
from thinkir.indexing.readers import ReadStats, read_corpus


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_beir_jsonl_gz_reads_id_title_text(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps({"_id": "a", "title": "T", "text": "body"}) + "\n")
        fh.write(json.dumps({"_id": 7, "text": "no title"}) + "\n")
    docs = list(read_corpus(path))
    assert [(d.id, d.title, d.text) for d in docs] == [("a", "T", "body"), ("7", "", "no title")]
    assert docs[0].full_text == "T body"


def test_jsonl_with_id_and_tsv_with_and_without_title(tmp_path: Path) -> None:
    jl = write(tmp_path / "c.jsonl", [json.dumps({"id": "x", "text": "hello"})])
    assert [d.id for d in read_corpus(jl)] == ["x"]
    tsv = write(tmp_path / "c.tsv", ["id\ttitle\ttext", "1\tA title\tsome text", "2\tonly text here"])
    docs = list(read_corpus(tsv))
    assert [(d.id, d.title, d.text) for d in docs] == [
        ("1", "A title", "some text"),
        ("2", "", "only text here"),
    ]


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.jsonl",
        [json.dumps({"id": "a", "text": "ok"}), "{not json", json.dumps({"id": "b", "text": "ok"})],
    )
    with pytest.raises(InputError, match=r"c\.jsonl:2: malformed JSON"):
        list(read_corpus(path))


def test_skip_bad_lines_counts_and_reports(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.jsonl",
        [
            json.dumps({"id": "a", "text": "ok"}),
            "{bad",
            json.dumps({"text": "no id"}),
            json.dumps({"id": "b", "text": "ok"}),
        ],
    )
    stats = ReadStats()
    docs = list(read_corpus(path, skip_bad_lines=True, stats=stats))
    assert [d.id for d in docs] == ["a", "b"]
    assert stats.bad_lines == 2
    assert stats.first_errors[0].startswith("line 2:") and "line 3" in stats.first_errors[1]


def test_empty_texts_and_duplicate_ids_are_skipped_and_counted(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.jsonl",
        [
            json.dumps({"id": "a", "text": "first"}),
            json.dumps({"id": "e", "title": "", "text": "   "}),
            json.dumps({"id": "a", "text": "second copy"}),
        ],
    )
    stats = ReadStats()
    docs = list(read_corpus(path, stats=stats))
    assert [(d.id, d.text) for d in docs] == [("a", "first")]  # first occurrence wins
    assert (stats.empty, stats.duplicates, stats.documents) == (1, 1, 1)


def test_missing_file_folder_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="corpus file not found"):
        list(read_corpus(tmp_path / "nope.jsonl"))
    with pytest.raises(InputError, match="is a folder"):
        list(read_corpus(tmp_path, fmt="jsonl"))
    odd = write(tmp_path / "corpus.xml", ["<doc/>"])
    with pytest.raises(InputError, match="cannot tell the format"):
        list(read_corpus(odd))


def test_reader_streams_lazily(tmp_path: Path) -> None:
    path = write(tmp_path / "c.jsonl", [json.dumps({"id": "a", "text": "ok"}), "{bad"])
    it = read_corpus(path)
    assert next(it).id == "a"  # the bad line 2 is not read before it is needed
    with pytest.raises(InputError):
        next(it)
