"""FAISS through thinkir's VectorIndex: recall@10 against exact search, QPS and build time.

Two collections:

* SciFact MiniLM vectors (5,183 documents; all 1,109 SciFact queries). The document vectors are read
  back from an index directory built by ``thinkir index build`` (``--index-dir``, a flat or HNSW index),
  or embedded here and cached in ``--cache`` when there is no such directory.
* ``--synthetic-n`` (default 1 M) synthetic unit vectors of dimension 384 drawn around 2,000 Gaussian
  cluster centres (so neighbours are meaningful and ANN is not searching noise), generated in
  100 k chunks from fixed seeds: exact top-10 is computed chunk by chunk and the indexes are filled
  chunk by chunk, so memory stays near the HNSW index itself (~1.8 GB for 1 M x 384).

Recall@10 = |ANN top-10 ∩ exact top-10| / 10, averaged over queries. QPS is a batch search of all
queries with the process's thread count; the ratio to the exact (flat) search is measured in the same
run. Every index uses the defaults of ``thinkir.retrieval.vector_index`` (factory strings, efSearch,
nprobe) unless a sweep row says otherwise.

    nice -n 10 python benchmarks/bench_faiss.py                      # SciFact + 1 M synthetic
    nice -n 10 python benchmarks/bench_faiss.py --synthetic-n 100000 # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
CHUNK = 100_000


# ---- data ------------------------------------------------------------------------------------------
def scifact_vectors(index_dir: Path, cache: Path, model: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(documents [n, d], queries [m, d], where the documents came from)."""
    from thinkir.evals.datasets import load_queries
    from thinkir.retrieval.embedders import load_embedder

    embedder = load_embedder(model, device="cpu")
    queries = embedder.encode_queries(list(load_queries(SCIFACT / "queries.jsonl").values()))
    if (index_dir / "index.faiss").is_file():
        import faiss

        index = faiss.read_index(str(index_dir / "index.faiss"))
        return index.reconstruct_n(0, index.ntotal), queries, f"reconstructed from {index_dir}/index.faiss"
    if cache.is_file():
        return np.load(cache), queries, f"cached in {cache}"
    from thinkir.indexing.readers import read_corpus

    texts = [d.full_text for d in read_corpus(SCIFACT / "corpus.jsonl.gz")]
    docs = embedder.encode_documents(texts, progress=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, docs)
    return docs, queries, f"embedded now (cached in {cache})"


def cluster_centres(dim: int, clusters: int = 2000) -> np.ndarray:
    centres = np.random.default_rng(0).standard_normal((clusters, dim)).astype(np.float32)
    return centres / np.linalg.norm(centres, axis=1, keepdims=True)


def synthetic_chunks(centres: np.ndarray, n: int, spread: float = 0.75) -> Callable[[], Iterator[np.ndarray]]:
    """A re-iterable source of ``n`` clustered unit vectors, in chunks of ``CHUNK`` (deterministic).

    Each vector is a random centre plus isotropic noise of norm ~``spread``, normalised: two members
    of one cluster have cosine ~0.64, members of different clusters ~0.
    """

    def chunks() -> Iterator[np.ndarray]:
        for start in range(0, n, CHUNK):
            yield _around(centres, min(CHUNK, n - start), spread, seed=1 + start // CHUNK)

    return chunks


def _around(centres: np.ndarray, n: int, spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dim = centres.shape[1]
    x = centres[rng.integers(0, len(centres), n)]
    x += rng.standard_normal((n, dim), dtype=np.float32) * (spread / np.sqrt(dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def exact_top_k(chunks: Callable[[], Iterator[np.ndarray]], queries: np.ndarray, k: int) -> np.ndarray:
    import faiss

    heap = faiss.ResultHeap(len(queries), k, keep_max=True)
    offset = 0
    for x in chunks():
        scores, ids = faiss.knn(queries, x, k, metric=faiss.METRIC_INNER_PRODUCT)
        heap.add_result(scores, ids + offset)
        offset += len(x)
    heap.finalize()
    return heap.I


# ---- measurement -----------------------------------------------------------------------------------
def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth, strict=True)]))


def timed_search(index: object, queries: np.ndarray, k: int, repeats: int) -> tuple[np.ndarray, float]:
    """Best-of-``repeats`` batch search; returns (ids, QPS)."""
    best, ids = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        _, ids = index.search(queries, k)  # type: ignore[attr-defined]
        best = min(best, time.perf_counter() - t)
    return ids, len(queries) / best  # type: ignore[return-value]


def build(kind: str, dim: int, n: int, chunks: Callable[[], Iterator[np.ndarray]]) -> tuple[object, float]:
    from thinkir.retrieval.vector_index import VectorIndex

    t = time.perf_counter()
    index = VectorIndex.create(kind, dim, n)
    if index.needs_training:
        sample = next(iter(chunks()))  # chunks are i.i.d., so the first is a fair sample
        index.train(sample[: index.training_sample_size()])
    for x in chunks():
        index.add(x)
    return index, time.perf_counter() - t


def bench_collection(
    name: str,
    dim: int,
    n: int,
    chunks: Callable[[], Iterator[np.ndarray]],
    queries: np.ndarray,
    kinds: list[str],
    k: int,
    repeats: int,
) -> list[dict[str, object]]:
    t = time.perf_counter()
    truth = exact_top_k(chunks, queries, k)
    print(f"\n== {name}: {n} vectors x {dim}, {len(queries)} queries (exact top-{k}: {time.perf_counter() - t:.1f}s)")
    print(
        f"{'index':12s} {'factory':22s} {'setting':14s} {'build s':>8s} {'recall@10':>9s} {'QPS':>9s} {'vs flat':>8s}"
    )
    rows: list[dict[str, object]] = []
    flat_qps = None
    for kind in ["flat", *kinds]:
        index, build_s = build(kind, dim, n, chunks)
        settings: list[tuple[str, dict[str, int]]] = [("default", {})]
        faiss_index = index.index  # type: ignore[attr-defined]
        if kind == "hnsw":
            default_ef = faiss_index.hnsw.efSearch
            settings += [(f"efSearch={ef}", {"ef_search": ef}) for ef in (32, 64, 256) if ef != default_ef]
            settings[0] = (f"efSearch={default_ef}", {"ef_search": default_ef})
        elif kind == "ivfpq":
            import faiss

            ivf = faiss.extract_index_ivf(faiss_index)
            default_np = ivf.nprobe
            settings[0] = (f"nprobe={default_np}", {"nprobe": default_np})
            settings += [(f"nprobe={p}", {"nprobe": p}) for p in (default_np * 4,) if p <= ivf.nlist]
        for label, params in settings:
            index.set_search_params(**params)  # type: ignore[attr-defined]
            ids, qps = timed_search(index, queries, k, repeats)
            recall = recall_at_k(ids, truth, k)
            if kind == "flat":
                flat_qps = qps
            row = {
                "collection": name,
                "kind": kind,
                "factory": index.factory,
                "setting": label,  # type: ignore[attr-defined]
                "build_s": build_s,
                "recall@10": recall,
                "qps": qps,
                "qps_vs_flat": qps / flat_qps,
            }  # type: ignore[operator]
            rows.append(row)
            print(
                f"{kind:12s} {index.factory:22s} {label:14s} {build_s:8.1f} {recall:9.4f} {qps:9.0f} {qps / flat_qps:7.2f}x"
            )  # type: ignore[attr-defined,operator]
        del index, faiss_index
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index-dir", type=Path, default=Path("/work/indexes/scifact-minilm"))
    parser.add_argument("--cache", type=Path, default=ROOT / "runs" / "bench" / "scifact-minilm-docs.npy")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--synthetic-n", type=int, default=1_000_000, help="0 skips the synthetic collection")
    parser.add_argument("--synthetic-queries", type=int, default=1000)
    parser.add_argument("--synthetic-kinds", default="hnsw,ivfpq")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-scifact", action="store_true", help="synthetic collection only (no shared data)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import faiss

    from thinkir.retrieval import vector_index as vi

    print(
        f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads; thinkir defaults: "
        f"HNSW M={vi.HNSW_M} efConstruction={vi.HNSW_EF_CONSTRUCTION} efSearch={vi.HNSW_EF_SEARCH}, "
        "IVF nprobe=max(8, nlist/16)"
    )
    rows = []
    if not args.no_scifact:
        docs, queries, source = scifact_vectors(args.index_dir, args.cache, args.model)
        print(f"SciFact document vectors {source}")
        rows += bench_collection(
            "scifact-minilm",
            docs.shape[1],
            len(docs),
            lambda: iter([docs]),
            queries,
            ["hnsw", "ivfpq"],
            10,
            args.repeats,
        )
    if args.synthetic_n:
        dim = 384
        centres = cluster_centres(dim)
        chunks = synthetic_chunks(centres, args.synthetic_n)
        squeries = _around(centres, args.synthetic_queries, 0.75, seed=10_000)
        rows += bench_collection(
            f"synthetic-{args.synthetic_n}",
            dim,
            args.synthetic_n,
            chunks,
            squeries,
            args.synthetic_kinds.split(","),
            10,
            args.repeats,
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
