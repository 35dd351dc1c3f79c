"""Embedding throughput on SciFact: thinkir's encoder vs plain ``SentenceTransformer.encode``.

Both run the same model on the same texts with the same torch thread count. The machine may be shared,
so every figure that matters is a ratio measured in this one run: the two encoders take turns on the
same chunks of the corpus (A B, B A, A B, ...) and their times are summed, and the compute limit is a
large fp32 matmul timed in the same process right before and after.

Useful FLOPs are counted on the real (unpadded) tokens:
``2 * params_in_linear_layers * L + 4 * layers * hidden * L**2`` per text of ``L`` tokens (the dense
layers, plus the ``QK^T`` and ``attention @ V`` products); embeddings, layer norms and softmax are
ignored (<2 % here).

    nice -n 10 python benchmarks/bench_embedding.py --limit 1000
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scifact" / "corpus.jsonl.gz"


def load_texts(corpus: Path, limit: int | None) -> list[str]:
    from thinkir.indexing.readers import read_corpus

    texts = []
    for doc in read_corpus(corpus):
        texts.append(doc.full_text)
        if limit and len(texts) >= limit:
            break
    return texts


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best achieved fp32 GFLOP/s of an ``n x n @ n x n`` matmul (the practical compute limit)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def model_flops(model: object, lengths: list[int]) -> float:
    """Useful forward FLOPs for texts of the given token lengths (see the module docstring)."""
    import torch

    transformer = model[0].auto_model  # type: ignore[index]
    cfg = transformer.config
    linear = sum(
        m.weight.numel()
        for name, m in transformer.named_modules()
        if isinstance(m, torch.nn.Linear) and "pooler" not in name
    )
    lengths_arr = np.asarray(lengths, dtype=np.float64)
    attention = 4 * cfg.num_hidden_layers * cfg.hidden_size * lengths_arr**2
    return float(np.sum(2 * linear * lengths_arr + attention))


def interleaved(
    runs: dict[str, Callable[[list[str]], np.ndarray]], chunks: list[list[str]]
) -> dict[str, tuple[float, list[np.ndarray]]]:
    """Time each runner on every chunk, alternating which goes first; returns total seconds and outputs."""
    names = list(runs)
    totals = {n: 0.0 for n in names}
    outputs: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for i, chunk in enumerate(chunks):
        for name in names if i % 2 == 0 else names[::-1]:
            t = time.perf_counter()
            outputs[name].append(runs[name](chunk))
            totals[name] += time.perf_counter() - t
    return {n: (totals[n], outputs[n]) for n in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=None, help="first N documents only")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--st-batch-size", type=int, default=32, help="SentenceTransformer.encode batch_size")
    parser.add_argument("--max-batch-tokens", type=int, default=16384, help="thinkir token budget per batch")
    parser.add_argument("--chunks", type=int, default=4, help="turns each encoder takes")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    from thinkir.models import resolve
    from thinkir.retrieval.embedders import SentenceTransformerEmbedder

    if args.threads:
        torch.set_num_threads(args.threads)
    texts = load_texts(args.corpus, args.limit)
    ours = SentenceTransformerEmbedder(args.model, device=args.device, max_batch_tokens=args.max_batch_tokens)
    plain = SentenceTransformer(resolve(args.model, "embedder"), device=args.device)
    lengths = [len(ids) for ids in ours._tokenize(texts)["input_ids"]]
    tokens = int(sum(lengths))

    runs = {
        "thinkir": lambda chunk: ours.encode(chunk),
        "sentence-transformers": lambda chunk: plain.encode(
            chunk, batch_size=args.st_batch_size, normalize_embeddings=True, convert_to_numpy=True
        ),
    }
    for run in runs.values():  # warm-up (allocator, thread pool)
        run(texts[:64])
    peak_before = matmul_gflops()
    step = -(-len(texts) // args.chunks)
    chunks = [texts[i : i + step] for i in range(0, len(texts), step)]
    timed = interleaved(runs, chunks)
    peak = max(peak_before, matmul_gflops())

    flops = model_flops(plain, lengths)
    a = np.concatenate(timed["thinkir"][1])
    b = np.concatenate(timed["sentence-transformers"][1])
    cosine = float(np.min(np.sum(a * b, axis=1)))
    print(f"corpus {args.corpus.name}: {len(texts)} docs, {tokens} tokens (max_seq_length {ours.max_seq_length})")
    print(f"torch threads {torch.get_num_threads()}, device {args.device}, {args.chunks} alternating turns each")
    print(f"{'encoder':24s} {'seconds':>8s} {'docs/s':>9s} {'tokens/s':>10s} {'GFLOP/s':>8s} {'of limit':>8s}")
    summary: dict[str, object] = {"docs": len(texts), "tokens": tokens, "threads": torch.get_num_threads()}
    for name, (secs, _) in timed.items():
        gflops = flops / secs / 1e9
        print(
            f"{name:24s} {secs:8.2f} {len(texts) / secs:9.1f} {tokens / secs:10.0f} {gflops:8.1f} {gflops / peak:8.1%}"
        )
        summary[name] = {"seconds": secs, "docs_per_s": len(texts) / secs, "fraction_of_limit": gflops / peak}
    ratio = timed["sentence-transformers"][0] / timed["thinkir"][0]
    print(f"fp32 matmul limit (2048^3, best of 5): {peak:.1f} GFLOP/s; model work {flops / 1e12:.3f} TFLOP")
    print(f"throughput ratio thinkir / sentence-transformers: {ratio:.3f}x")
    print(f"min cosine between the two encoders' vectors: {cosine:.6f}")
    summary.update({"ratio": ratio, "matmul_gflops": peak, "model_tflop": flops / 1e12, "min_cosine": cosine})
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
