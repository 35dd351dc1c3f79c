"""The optional int8 embedding path: speed-up over fp32 and the nDCG@10 change on SciFact test.

``SentenceTransformerEmbedder(precision="int8")`` exports the model to ONNX with int8 weights and runs
it in onnxruntime (see ``thinkir.retrieval.embedders``). Speed is measured on ``--speed-docs`` corpus
documents with the two encoders taking turns on the same chunks (the machine may be shared, so only
the ratio within this run means much). With ``--torch-dynamic`` a third row times torch's deprecated
``quantize_dynamic`` on the same chunks and reports its cosine to fp32, for comparison only.

Quality: every SciFact document and the 300 test queries are embedded by each encoder, searched
exactly (flat inner-product index, top 100) and scored with ir-measures. ``--fp32-index DIR`` reuses
the fp32 document vectors of an index built by ``thinkir index build`` with the same model (they
are what ``encode`` returns); otherwise the corpus is embedded in fp32 here as well. On a slow machine
``--corpus-docs N`` evaluates both encoders on one sub-collection: every judged document plus the first
other documents, N in all (absolute nDCG is then higher than on the full corpus; the change is what counts).

    nice -n 10 python benchmarks/bench_quantized.py --fp32-index /work/indexes/scifact-minilm
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

SCIFACT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scifact"


def interleaved(
    runs: dict[str, Callable[[list[str]], np.ndarray]], chunks: list[list[str]]
) -> dict[str, tuple[float, np.ndarray]]:
    """Total seconds and stacked outputs per runner; the runners alternate which goes first."""
    names = list(runs)
    totals = dict.fromkeys(names, 0.0)
    outs: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for i, chunk in enumerate(chunks):
        for name in names if i % 2 == 0 else names[::-1]:
            t = time.perf_counter()
            outs[name].append(runs[name](chunk))
            totals[name] += time.perf_counter() - t
    return {n: (totals[n], np.concatenate(outs[n])) for n in names}


def ndcg_at_10(dataset: object, doc_ids: list[str], doc_vecs: np.ndarray, query_vecs: np.ndarray) -> float:
    from thinkir.evals.metrics import evaluate
    from thinkir.retrieval.vector_index import VectorIndex

    index = VectorIndex.create("flat", doc_vecs.shape[1], len(doc_vecs))
    index.add(doc_vecs)
    scores, ids = index.search(query_vecs, 100)
    run = {
        q.id: [(doc_ids[i], float(s)) for s, i in zip(row_s, row_i, strict=True) if i >= 0]
        for q, row_s, row_i in zip(dataset.queries, scores, ids, strict=True)  # type: ignore[attr-defined]
    }
    return evaluate(dataset.qrels, run, ["nDCG@10"]).metrics["nDCG@10"]  # type: ignore[attr-defined]


def torch_dynamic_int8(model_name: str) -> Callable[[list[str]], np.ndarray]:
    import torch
    from sentence_transformers import SentenceTransformer
    from torch.ao.quantization import quantize_dynamic

    from thinkir.models import resolve

    model = SentenceTransformer(resolve(model_name, "embedder"), device="cpu").eval()
    model = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return lambda chunk: model.encode(chunk, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=SCIFACT)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--speed-docs", type=int, default=600)
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument(
        "--corpus-docs", type=int, default=None, help="evaluate on the judged documents plus the first others, N in all"
    )
    parser.add_argument("--fp32-index", type=Path, default=None, help="reuse fp32 document vectors")
    parser.add_argument("--torch-dynamic", action="store_true", help="also time torch quantize_dynamic")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import warnings

    import torch

    from thinkir.evals.datasets import load_beir
    from thinkir.indexing.readers import read_corpus
    from thinkir.retrieval.embedders import SentenceTransformerEmbedder

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    if args.threads:
        torch.set_num_threads(args.threads)
    dataset = load_beir(args.data, "test")
    docs = list(read_corpus(dataset.corpus_path))
    if args.corpus_docs and args.corpus_docs < len(docs):
        # every judged document, then the corpus in order: the same sub-collection for both encoders
        judged = {d for rels in dataset.qrels.values() for d in rels}
        others = args.corpus_docs - sum(d.id in judged for d in docs)
        keep = set([d.id for d in docs if d.id not in judged][:others]) | judged
        docs = [d for d in docs if d.id in keep]
    positions = {d.id: i for i, d in enumerate(read_corpus(dataset.corpus_path))}
    doc_ids, texts = [d.id for d in docs], [d.full_text for d in docs]
    t = time.perf_counter()
    fp32 = SentenceTransformerEmbedder(args.model, device="cpu")
    int8 = SentenceTransformerEmbedder(args.model, device="cpu", precision="int8")
    print(f"loaded fp32 + int8 (ONNX, cached after the first export) in {time.perf_counter() - t:.1f}s")

    runs: dict[str, Callable[[list[str]], np.ndarray]] = {"fp32": fp32.encode, "int8-onnx": int8.encode}
    if args.torch_dynamic:
        runs["int8-torch-dynamic"] = torch_dynamic_int8(args.model)
    for run in runs.values():
        run(texts[:32])  # warm-up
    speed_texts = texts[: args.speed_docs]
    step = -(-len(speed_texts) // args.chunks)
    timed = interleaved(runs, [speed_texts[i : i + step] for i in range(0, len(speed_texts), step)])
    base_s, base_vecs = timed["fp32"]
    print(
        f"\nspeed: {len(speed_texts)} SciFact documents, torch/onnxruntime threads {torch.get_num_threads()}, "
        f"{args.chunks} alternating turns each"
    )
    print(f"{'path':20s} {'seconds':>8s} {'docs/s':>8s} {'speed-up':>9s} {'min cos':>8s} {'mean cos':>9s}")
    summary: dict[str, object] = {"speed_docs": len(speed_texts), "threads": torch.get_num_threads()}
    for name, (secs, vecs) in timed.items():
        cos = np.sum(vecs * base_vecs, axis=1)
        print(
            f"{name:20s} {secs:8.2f} {len(speed_texts) / secs:8.1f} {base_s / secs:8.2f}x "
            f"{cos.min():8.4f} {cos.mean():9.4f}"
        )
        summary[name] = {"seconds": secs, "speedup": base_s / secs, "min_cos": float(cos.min())}

    queries = [q.text for q in dataset.queries]
    if args.fp32_index is not None:
        import faiss

        from thinkir.indexing.manifest import Manifest

        manifest = Manifest.read(args.fp32_index)
        manifest.check_embedder(fp32.model_id, fp32.revision)
        if manifest.counts["documents"] != len(positions):
            raise SystemExit(f"{args.fp32_index} holds {manifest.counts['documents']} documents, not {len(positions)}")
        index = faiss.read_index(str(args.fp32_index / "index.faiss"))
        fp32_docs = index.reconstruct_n(0, index.ntotal)[[positions[d] for d in doc_ids]]
    else:
        fp32_docs = fp32.encode_documents(texts, progress=True)
    t = time.perf_counter()
    int8_docs = int8.encode_documents(texts, progress=True)
    int8_corpus_s = time.perf_counter() - t
    ndcg = {
        "fp32": ndcg_at_10(dataset, doc_ids, fp32_docs, fp32.encode_queries(queries)),
        "int8-onnx": ndcg_at_10(dataset, doc_ids, int8_docs, int8.encode_queries(queries)),
    }
    print(
        f"\nquality: SciFact test, {len(queries)} queries, {len(docs)} documents, exact search "
        f"(int8 corpus embedding took {int8_corpus_s:.0f}s)"
    )
    print(
        f"nDCG@10 fp32 {ndcg['fp32']:.4f}  int8 {ndcg['int8-onnx']:.4f}  change {ndcg['int8-onnx'] - ndcg['fp32']:+.4f}"
    )
    summary["ndcg@10"] = ndcg
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
