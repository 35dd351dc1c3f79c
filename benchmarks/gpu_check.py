"""Check and time thinkir's GPU paths in one short run; prints (and writes) one JSON summary.

1. Embedding: SciFact documents embedded on the device and (a subset) on CPU with thinkir's
   ``SentenceTransformerEmbedder``: docs/s on each, and the cosine between the two (must be ~1).
2. Exact search through ``VectorIndex`` (flat, inner product): the torch matmul + top-k path on the
   device, and faiss-gpu when the installed faiss has GPU support, against CPU faiss. Results must be
   identical: the same top-10 ids for >= 99.9 % of queries, scores within 1e-4. Two collections: the
   SciFact vectors (queries: the document titles), and ``--synthetic-n`` clustered vectors (as in
   ``bench_faiss.py``).

With ``--device cpu`` (or without CUDA) the "device" side runs on CPU: the torch path is still checked
against faiss, and the summary says that CUDA is absent. Designed to finish in well under 3 minutes on
one H100; ``benchmarks/gpu_run.sh`` runs it on the GPU machine, ``benchmarks/gpu_prepare.sh`` packs what
that machine lacks (wheels, the corpus, a compact copy of MiniLM made with ``--compact-model-to``).

    python benchmarks/gpu_check.py --corpus .device/corpus.jsonl.gz --model .device/minilm --out gpu.json
    python benchmarks/gpu_check.py --device cpu --limit 300 --cpu-docs 100 --synthetic-n 20000 ...
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_faiss's synthetic data
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # thinkir without installing it

from thinkir.compact import compact_model  # noqa: E402


def expand_model(path: Path) -> Path:
    """A loadable folder for ``path`` (a compact copy is expanded once into the thinkir cache)."""
    from thinkir.models import resolve

    return Path(resolve(str(path), "embedder"))


# ---- checks -----------------------------------------------------------------------------------------
def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def environment(device: str) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "device": device,
        "cpu_threads": torch.get_num_threads(),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    else:
        info["note"] = "CUDA is absent: the device side ran on CPU"
    try:
        import faiss

        info["faiss"] = faiss.__version__
        info["faiss_gpus"] = int(getattr(faiss, "get_num_gpus", lambda: 0)())
    except ImportError:
        info["faiss"] = None
    return info


def check_embedding(model: str, texts: list[str], cpu_docs: int, device: str) -> tuple[dict[str, Any], np.ndarray]:
    from thinkir.retrieval.embedders import SentenceTransformerEmbedder

    out: dict[str, Any] = {}
    vectors: dict[str, np.ndarray] = {}
    for where, subset in ((device, texts), ("cpu", texts[:cpu_docs])):
        if where == device and where == "cpu" and "cpu" in vectors:
            continue
        t = time.perf_counter()
        embedder = SentenceTransformerEmbedder(model, device=where)
        load_s = time.perf_counter() - t
        embedder.encode(subset[:64])  # warm-up: CUDA context, cuBLAS handles, allocator
        sync(where)
        t = time.perf_counter()
        vectors[where] = embedder.encode(subset)
        sync(where)
        secs = time.perf_counter() - t
        out[f"{where}_docs"] = len(subset)
        out[f"{where}_docs_per_s"] = len(subset) / secs
        out[f"{where}_load_s"] = load_s
        del embedder
    n = min(cpu_docs, len(texts))
    cosine = np.sum(vectors[device][:n] * vectors["cpu"][:n], axis=1)
    out["speedup_vs_cpu"] = out[f"{device}_docs_per_s"] / out["cpu_docs_per_s"]
    out["min_cosine_device_vs_cpu"] = float(cosine.min())
    out["ok"] = bool(cosine.min() > 0.999)
    return out, vectors[device]


def check_search(name: str, docs: np.ndarray, queries: np.ndarray, device: str, k: int = 10) -> dict[str, Any]:
    from thinkir.device import faiss_gpu_available
    from thinkir.retrieval.vector_index import VectorIndex

    index = VectorIndex.create("flat", docs.shape[1], len(docs))
    index.add(docs)
    t = time.perf_counter()
    cpu_scores, cpu_ids = index.search(queries, k, device="cpu")
    cpu_s = time.perf_counter() - t
    out: dict[str, Any] = {"vectors": len(docs), "queries": len(queries), "cpu_faiss_qps": len(queries) / cpu_s}
    paths = {"torch": lambda: index._torch_exact_search(queries, k, device)}
    if device.startswith("cuda") and faiss_gpu_available():
        paths["faiss_gpu"] = lambda: index.search(queries, k, device=device)
    ok = True
    for path, run in paths.items():
        t = time.perf_counter()
        run()  # first call: copies the matrix to the device
        first_s = time.perf_counter() - t
        t = time.perf_counter()
        scores, ids = run()
        secs = time.perf_counter() - t
        same_set = np.mean([set(a) == set(b) for a, b in zip(ids, cpu_ids, strict=True)])
        same_order = float(np.mean((ids == cpu_ids).all(axis=1)))
        score_gap = float(np.abs(scores - cpu_scores).max())
        passed = bool(same_set >= 0.999 and score_gap <= 1e-4)
        ok &= passed
        out[path] = {
            "qps": len(queries) / secs,
            "speedup_vs_cpu_faiss": cpu_s / secs,
            "first_call_s": first_s,
            "same_top10_set": float(same_set),
            "same_top10_order": same_order,
            "max_score_gap": score_gap,
            "ok": passed,
        }
    out["ok"] = ok
    print(f"[{name}] {json.dumps(out)}", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, help="SciFact corpus.jsonl.gz")
    parser.add_argument("--model", type=Path, help="MiniLM sentence-transformers folder (or a compact copy)")
    parser.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    parser.add_argument("--limit", type=int, default=None, help="embed only the first N documents")
    parser.add_argument("--cpu-docs", type=int, default=1000, help="documents also embedded on CPU")
    parser.add_argument("--synthetic-n", type=int, default=1_000_000)
    parser.add_argument("--synthetic-queries", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=None, help="write the JSON summary here too")
    parser.add_argument("--compact-model-to", type=Path, default=None, help="only write a compact copy of --model")
    args = parser.parse_args()
    if args.compact_model_to:
        compact_model(args.model, args.compact_model_to)
        print(f"compact copy of {args.model} written to {args.compact_model_to}")
        return
    if not args.corpus or not args.model:
        parser.error("--corpus and --model are required")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    from bench_faiss import _around, cluster_centres
    from thinkir.indexing.readers import read_corpus

    started = time.perf_counter()
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("CUDA requested but absent; running the device side on CPU", file=sys.stderr)
        device = "cpu"
    summary: dict[str, Any] = {"environment": environment(device)}
    docs = list(read_corpus(args.corpus))[: args.limit]
    model = str(expand_model(args.model))
    summary["embedding"], doc_vecs = check_embedding(model, [d.full_text for d in docs], args.cpu_docs, device)
    print(f"[embedding] {json.dumps(summary['embedding'])}", file=sys.stderr)

    from thinkir.retrieval.embedders import SentenceTransformerEmbedder

    titles = [d.title or d.text[:100] for d in docs]
    query_vecs = SentenceTransformerEmbedder(model, device=device).encode_queries(titles)
    summary["search_scifact"] = check_search("scifact", doc_vecs, query_vecs, device)
    if args.synthetic_n:
        centres = cluster_centres(doc_vecs.shape[1])
        vectors = _around(centres, args.synthetic_n, 0.75, seed=1)
        queries = _around(centres, args.synthetic_queries, 0.75, seed=10_000)
        summary["search_synthetic"] = check_search("synthetic", vectors, queries, device)
    summary["ok"] = bool(
        summary["embedding"]["ok"] and all(v["ok"] for k, v in summary.items() if k.startswith("search_"))
    )
    summary["seconds"] = time.perf_counter() - started
    text = json.dumps(summary)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
