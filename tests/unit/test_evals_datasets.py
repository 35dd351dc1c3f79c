from __future__ import annotations

import json
from pathlib import Path

import pytest

from thinkir.errors import InputError
from thinkir.evals.datasets import (
    available_splits,
    check_overlap,
    load_beir,
    load_candidates,
    load_qrels,
    load_queries,
    load_trec_topics,
)

TINY_BEIR = Path(__file__).resolve().parents[1] / "data" / "eval_beir"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---- qrels ---------------------------------------------------------------------------------------
def test_trec_qrels_are_graded(tmp_path: Path) -> None:
    p = write(tmp_path / "q.txt", "1 0 a 2\n1 0 b 0\n\n2 Q0 c 3\n2 0 d -1\n")
    assert load_qrels(p) == {"1": {"a": 2, "b": 0}, "2": {"c": 3, "d": -1}}


def test_beir_tsv_qrels_with_header(tmp_path: Path) -> None:
    p = write(tmp_path / "test.tsv", "query-id\tcorpus-id\tscore\n7\tx\t1\n7\ty\t2\n")
    assert load_qrels(p) == {"7": {"x": 1, "y": 2}}


def test_qrels_malformed_line_names_its_number(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"q\.txt:3: expected 'qid Q0 docid relevance'.*got 5 column"):
        load_qrels(write(tmp_path / "q.txt", "1 0 a 1\n\n1 0 b 1 x\n"))
    with pytest.raises(InputError, match=r"q\.txt:2: relevance must be an integer, got 'high'"):
        load_qrels(write(tmp_path / "q.txt", "1 0 a 1\n1 0 b high\n"))


def test_qrels_conflicting_grades_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r":3: document 'a' of query '1' judged twice \(1 and 2\)"):
        load_qrels(write(tmp_path / "q.txt", "1 0 a 1\n1 0 b 0\n1 0 a 2\n"))
    with pytest.raises(InputError, match="no judgments"):
        load_qrels(write(tmp_path / "e.txt", "\n"))


# ---- queries -------------------------------------------------------------------------------------
def test_queries_jsonl_tsv_and_trec_topics(tmp_path: Path) -> None:
    assert load_queries(write(tmp_path / "q.jsonl", '{"_id": 1, "text": "a b"}\n{"_id": "2", "text": "c"}\n')) == {
        "1": "a b",
        "2": "c",
    }
    assert load_queries(write(tmp_path / "q.tsv", "10\tfirst query\n11\tsecond\n")) == {
        "10": "first query",
        "11": "second",
    }
    topics = (
        "<top>\n<num> Number: 301\n<title> International Organized Crime\n\n<desc> Description:\nX\n</top>\n"
        "<top>\n<num> Number: 302 \n<title> Poliomyelitis and\n Post-Polio\n<narr> N\n</top>\n"
    )
    path = write(tmp_path / "topics.301-302.txt", topics)
    expected = {"301": "International Organized Crime", "302": "Poliomyelitis and Post-Polio"}
    assert load_trec_topics(path) == expected
    assert load_queries(path) == expected


def test_queries_malformed_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"q\.jsonl:2: malformed JSON"):
        load_queries(write(tmp_path / "q.jsonl", '{"_id": "1", "text": "a"}\n{"_id": "2", "text": \n'))
    with pytest.raises(InputError, match=r"q\.tsv:2: expected 'query-id<TAB>query text'"):
        load_queries(write(tmp_path / "q.tsv", "1\tfine\nno tab here\n"))


# ---- BEIR ----------------------------------------------------------------------------------------
def test_beir_split_keeps_only_judged_queries() -> None:
    ds = load_beir(TINY_BEIR, "test")
    assert [q.id for q in ds.queries] == ["q1", "q2", "q3", "q4"]
    assert ds.qrels["q1"] == {"d1": 2, "d3": 1}
    assert ds.corpus_path.name == "corpus.jsonl" and ds.name == "eval_beir"
    assert [q.id for q in load_beir(TINY_BEIR, "train").queries] == ["q5"]


def test_missing_split_names_available_splits() -> None:
    assert available_splits(TINY_BEIR) == ["test", "train"]
    with pytest.raises(InputError, match=r"no split 'dev'.*available splits: \['test', 'train'\]"):
        load_beir(TINY_BEIR, "dev")


def test_qrels_matching_no_query_say_how_many_matched(tmp_path: Path) -> None:
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n')
    (folder / "queries.jsonl").write_text('{"_id": "1", "text": "x"}\n{"_id": "2", "text": "y"}\n')
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n8\td1\t1\n9\td1\t1\n")
    with pytest.raises(InputError, match=r"0 of 2 judged query ids matched 2 query ids"):
        load_beir(folder, "test")
    assert check_overlap({"1": {"d": 1}, "5": {"d": 1}}, ["1", "2"]) == 1


# ---- candidate files -----------------------------------------------------------------------------
def test_candidate_formats(tmp_path: Path) -> None:
    rank_llm = [
        {
            "query": "how long do fleas live",
            "hits": [
                {"qid": 264014, "docid": "b", "rank": 2, "score": 9.5, "content": "second"},
                {"qid": 264014, "docid": "a", "rank": 1, "score": 15.7, "content": "first"},
            ],
        }
    ]
    lists = load_candidates(write(tmp_path / "c.json", json.dumps(rank_llm)))
    assert lists[0].query.id == "264014" and lists[0].query.text == "how long do fleas live"
    assert lists[0].doc_ids() == ["a", "b"]  # ordered by rank
    assert lists[0].candidates[0].score == 15.7 and lists[0].candidates[0].document.text == "first"

    covid = [
        {
            "query_id": "1",
            "query": "covid origin",
            "hits": [
                {"docid": "x", "content": "X", "score": "0"},
                {"docid": "y", "content": "Y", "score": "0"},
            ],
        }
    ]
    lists = load_candidates(write(tmp_path / "covid.json", json.dumps(covid)))
    assert lists[0].query.id == "1" and lists[0].doc_ids() == ["x", "y"]  # file order kept
    assert [c.score for c in lists[0].candidates] == [0.0, 0.0]

    jsonl = write(tmp_path / "c.jsonl", "\n".join(json.dumps(e) for e in covid + [{"query_id": 2, "hits": []}]))
    lists = load_candidates(jsonl)
    assert [r.query.id for r in lists] == ["1", "2"] and len(lists[1]) == 0


def test_candidate_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty candidate list"):
        load_candidates(write(tmp_path / "e.json", "[]"))
    dup = [{"query_id": "1", "hits": [{"docid": "x"}, {"docid": "x"}]}]
    with pytest.raises(InputError, match=r"query 1 lists document 'x' twice \(hit 1\)"):
        load_candidates(write(tmp_path / "d.json", json.dumps(dup)))
    with pytest.raises(InputError, match="entry 0 has no query id"):
        load_candidates(write(tmp_path / "n.json", json.dumps([{"query": "q", "hits": []}])))
    with pytest.raises(InputError, match=r"hit 0 has no 'docid'"):
        load_candidates(write(tmp_path / "h.json", json.dumps([{"query_id": "1", "hits": [{"content": "c"}]}])))
    with pytest.raises(InputError, match=r"m\.json:3: malformed JSON"):
        load_candidates(write(tmp_path / "m.json", '[\n {"query_id": "1",\n  "hits": [}\n]'))
    with pytest.raises(InputError, match="not found"):
        load_candidates(tmp_path / "missing.json")
