from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from thinkir.errors import IndexExistsError, InputError, ManifestMismatchError
from thinkir.indexing.builder import build_index
from thinkir.indexing.loader import load_index
from thinkir.indexing.manifest import Manifest
from thinkir.types import Query


class Crash(Exception):
    pass


def test_build_writes_contract_layout_and_searches(toy_corpus: Path, tmp_path: Path, tiny_embedder_path: str) -> None:
    out = tmp_path / "idx"
    report = build_index(toy_corpus, out, embedder=tiny_embedder_path, progress=False)
    assert report.documents == 6
    assert {p.name for p in out.iterdir()} == {"manifest.json", "index.faiss", "docs.sqlite", "bm25"}
    raw = json.loads((out / "manifest.json").read_text())
    assert raw["dimension"] == 32 and raw["embedder"]["dimension"] == 32
    assert raw["faiss_factory"] == "Flat" and raw["metric"] == "inner_product" and raw["normalized"] is True
    assert raw["counts"]["documents"] == 6 and len(raw["corpus_sha256"]) == 64
    assert not list(tmp_path.glob(".idx.partial*"))

    index = load_index(out, device="cpu")
    # identical text embeds identically, so dense search finds the document itself first
    text = "Soybeans Soybean farming covers field and seed production of soybeans."
    assert index.search([Query("q", text)], k=3, mode="dense")[0].doc_ids()[0] == "d3"
    assert index.search([Query("q", "parcel delivery courier")], k=3, mode="bm25")[0].doc_ids()[0] == "d4"
    hybrid = index.search([Query("q", "parcel delivery courier")], k=6, mode="hybrid")[0]
    assert len(hybrid) == 6 and hybrid.candidates[0].document is not None


def test_refuses_existing_output_and_overwrites_on_request(
    toy_corpus: Path, tmp_path: Path, tiny_embedder_path: str
) -> None:
    out = tmp_path / "idx"
    build_index(toy_corpus, out, embedder=tiny_embedder_path, progress=False, bm25="none")
    created = Manifest.read(out).created_at
    with pytest.raises(IndexExistsError, match="--overwrite"):
        build_index(toy_corpus, out, embedder=tiny_embedder_path, progress=False, bm25="none")
    report = build_index(toy_corpus, out, embedder=tiny_embedder_path, progress=False, bm25="none", overwrite=True)
    assert report.documents == 6 and Manifest.read(out).created_at >= created
    not_an_index = tmp_path / "precious"
    not_an_index.mkdir()
    (not_an_index / "notes.txt").write_text("keep me")
    with pytest.raises(IndexExistsError, match="not a thinkir index"):
        build_index(toy_corpus, not_an_index, embedder=tiny_embedder_path, progress=False, overwrite=True)
    assert (not_an_index / "notes.txt").read_text() == "keep me"


def test_crash_leaves_no_index_and_rerun_resumes(toy_corpus: Path, tmp_path: Path, tiny_embedder_path: str) -> None:
    out = tmp_path / "idx"

    def crash_after_first_shard(shard: int) -> None:
        if shard == 1:
            raise Crash

    with pytest.raises(Crash):
        build_index(
            toy_corpus,
            out,
            embedder=tiny_embedder_path,
            progress=False,
            shard_size=2,
            on_shard=crash_after_first_shard,
        )
    assert not out.exists()  # nothing half-written is published
    assert (tmp_path / ".idx.partial").is_dir()

    seen: list[int] = []
    report = build_index(
        toy_corpus, out, embedder=tiny_embedder_path, progress=False, shard_size=2, on_shard=seen.append
    )
    assert report.resumed_shards == 2 and seen == [2]  # shards 0 and 1 were kept, only 2 was embedded
    clean = tmp_path / "clean"
    build_index(toy_corpus, clean, embedder=tiny_embedder_path, progress=False, shard_size=2)
    a, b = load_index(out, device="cpu"), load_index(clean, device="cpu")
    np.testing.assert_allclose(a.vectors.index.reconstruct_n(0, 6), b.vectors.index.reconstruct_n(0, 6), atol=1e-6)
    assert a.docs.ids(range(6)) == b.docs.ids(range(6))


def test_changed_corpus_discards_the_stale_partial_build(
    toy_corpus: Path, tmp_path: Path, tiny_embedder_path: str
) -> None:
    out = tmp_path / "idx"
    with pytest.raises(Crash):
        build_index(
            toy_corpus,
            out,
            embedder=tiny_embedder_path,
            progress=False,
            shard_size=2,
            on_shard=lambda s: (_ for _ in ()).throw(Crash()),
        )
    toy_corpus.write_text(toy_corpus.read_text() + json.dumps({"_id": "d7", "text": "new document"}) + "\n")
    report = build_index(toy_corpus, out, embedder=tiny_embedder_path, progress=False, shard_size=2)
    assert report.resumed_shards == 0 and report.documents == 7


def test_manifest_mismatch_is_a_clear_error(toy_corpus: Path, tmp_path: Path, tiny_embedder_path: str) -> None:
    from conftest import build_tiny_sentence_transformer

    out = tmp_path / "idx"
    build_index(toy_corpus, out, embedder=tiny_embedder_path, progress=False, bm25="none")
    other = str(build_tiny_sentence_transformer(tmp_path / "other", hidden=32, seed=1))
    with pytest.raises(ManifestMismatchError, match="built with embedder"):
        load_index(out, embedder=other, device="cpu")
    with pytest.raises(InputError, match="not a thinkir index"):
        load_index(tmp_path, device="cpu")


def test_build_reports_skipped_lines_and_rejects_empty_corpus(tmp_path: Path, tiny_embedder_path: str) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "text": "x y"}\n{oops\n{"id": "a", "text": "dup"}\n{"id": "b", "text": ""}\n')
    with pytest.raises(InputError, match=r"c\.jsonl:2"):
        build_index(corpus, tmp_path / "i1", embedder=tiny_embedder_path, progress=False)
    report = build_index(corpus, tmp_path / "i2", embedder=tiny_embedder_path, progress=False, skip_bad_lines=True)
    counts = report.manifest.counts
    assert (
        counts["documents"],
        counts["skipped_bad_lines"],
        counts["skipped_duplicates"],
        counts["skipped_empty"],
    ) == (1, 1, 1, 1)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(InputError, match="no indexable documents"):
        build_index(empty, tmp_path / "i3", embedder=tiny_embedder_path, progress=False)
    assert not (tmp_path / "i3").exists()


def test_hnsw_and_ivfpq_kinds(tmp_path: Path, tiny_embedder_path: str) -> None:
    corpus = tmp_path / "c.jsonl"
    rng = np.random.default_rng(0)
    words = ["vitamin", "coffee", "soybean", "courier", "meat", "markets", "bone", "seed", "hams", "rates"]
    lines = [json.dumps({"id": f"d{i}", "text": " ".join(rng.choice(words, 6))}) for i in range(300)]
    corpus.write_text("\n".join(lines) + "\n")
    hnsw = build_index(
        corpus, tmp_path / "h", embedder=tiny_embedder_path, index_kind="hnsw", progress=False, bm25="none"
    )
    assert hnsw.manifest.faiss_factory.startswith("HNSW")
    ivf = build_index(
        corpus, tmp_path / "p", embedder=tiny_embedder_path, index_kind="ivfpq", progress=False, bm25="none"
    )
    assert ivf.manifest.faiss_factory.startswith("IVF")
    idx = load_index(tmp_path / "p", device="cpu")
    assert len(idx.search([Query("q", "vitamin coffee")], k=5)[0]) == 5
    with pytest.raises(InputError, match="needs at least"):
        build_index(
            _tiny(tmp_path),
            tmp_path / "t",
            embedder=tiny_embedder_path,
            index_kind="ivfpq",
            progress=False,
            bm25="none",
        )
    shutil.rmtree(tmp_path / "h")


def _tiny(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.jsonl"
    p.write_text("".join(json.dumps({"id": f"d{i}", "text": f"doc {i}"}) + "\n" for i in range(10)))
    return p


def test_docstore_serves_concurrent_threads(toy_corpus: Path, tmp_path: Path, tiny_embedder_path: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    out = tmp_path / "idx"
    build_index(toy_corpus, out, embedder=tiny_embedder_path, progress=False, bm25="none")
    index = load_index(out, device="cpu")
    expected = index.docs.ids(range(6))

    def read(_: int) -> list[str | None]:
        return index.docs.ids(list(range(6)))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(read, range(64)))
    assert all(r == expected for r in results)
    index.docs.close()


def test_cli_search_json_and_hybrid_weights(toy_corpus: Path, tmp_path: Path, tiny_embedder_path: str) -> None:
    from typer.testing import CliRunner

    from thinkir.cli import app

    out = tmp_path / "idx"
    build_index(toy_corpus, out, embedder=tiny_embedder_path, progress=False)
    runner = CliRunner()

    def top(weights: str) -> str:
        res = runner.invoke(
            app,
            [
                "search",
                "--index",
                str(out),
                "parcel courier delivery",
                "--mode",
                "hybrid",
                "--hybrid-weights",
                weights,
                "--json",
                "--device",
                "cpu",
            ],
        )
        assert res.exit_code == 0, res.output
        payload = json.loads(res.stdout)
        assert {"query", "results", "timings_ms"} <= set(payload)
        return payload["results"][0]["id"]

    assert top("0,1") == "d4"  # BM25 alone decides: the courier document
    bad = runner.invoke(app, ["search", "--index", str(out), "q", "--hybrid-weights", "x"])
    assert bad.exit_code != 0


def test_ivf_training_sample_grows_with_the_list_count() -> None:
    from thinkir.retrieval.vector_index import VectorIndex

    big = VectorIndex.create("ivfpq", 32, 1_000_000)  # IVF4000: faiss wants >= 39 points per list
    assert big.factory.startswith("IVF4000") and big.training_sample_size() == 160_000
    assert VectorIndex.create("ivfpq", 32, 20_000).training_sample_size() == 100_000
    assert VectorIndex.create("flat", 32, 10).training_sample_size() == 100_000
