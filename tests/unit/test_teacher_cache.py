"""TeacherCache: warm lookups need no model; concurrent writers do not erase each other's scores."""

from __future__ import annotations

from pathlib import Path

from thinkir.training.teacher import TeacherCache, pair_key
from thinkir.types import Document


def test_warm_cache_answers_without_loading_the_teacher(tmp_path: Path) -> None:
    docs = [Document("d1", "alpha"), Document("d2", "beta")]
    cache = TeacherCache(tmp_path, "no-such-teacher-anywhere")
    cache.scores = {pair_key("no-such-teacher-anywhere", "q", d): v for d, v in zip(docs, (0.25, -1.5), strict=True)}
    cache.save()
    again = TeacherCache(tmp_path, "no-such-teacher-anywhere")
    assert again.lookup(["q"], [docs]) == [[0.25, -1.5]]
    assert again._teacher is None


def test_two_processes_saving_keep_both_sets_of_scores(tmp_path: Path) -> None:
    a = TeacherCache(tmp_path, "t")
    b = TeacherCache(tmp_path, "t")  # opened before a saved, as a second process would be
    a.scores["from-a"] = 1.0
    a.save()
    b.scores["from-b"] = 2.0
    b.save()
    merged = TeacherCache(tmp_path, "t").scores
    assert merged == {"from-a": 1.0, "from-b": 2.0}
