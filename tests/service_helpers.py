"""Shared pieces of the service tests: a tiny random-weight sentence-transformers model, a tiny index
built from it, and an app over that index. Everything is built in the test's tmp folder, offline."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

DOCS = [
    ("d1", "Statins", "statins lower ldl cholesterol in adults with heart disease"),
    ("d2", "Aspirin", "aspirin reduces the risk of stroke but increases bleeding"),
    ("d3", "Vitamin D", "vitamin d supplements and bone density in older women"),
    ("d4", "Exercise", "regular exercise improves insulin sensitivity and blood pressure"),
    ("d5", "Sleep", "short sleep is associated with obesity and diabetes"),
    ("d6", "Coffee", "coffee consumption and liver disease in a cohort study"),
    ("d7", "Smoking", "smoking cessation lowers cancer risk within ten years"),
    ("d8", "Salt", "dietary salt intake raises blood pressure in sensitive people"),
]

_WORDS = sorted({w for _, t, x in DOCS for w in f"{t} {x}".lower().split()})


def build_tiny_model(folder: Path) -> Path:
    """A 1-layer, 32-d BERT with mean pooling, random weights (seeded), saved as sentence-transformers."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out = folder / "tiny-st"
    if (out / "modules.json").is_file():
        return out
    bert_dir = folder / "tiny-bert"
    bert_dir.mkdir(parents=True, exist_ok=True)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *(f"##{c}" for c in letters), *_WORDS]
    (bert_dir / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(bert_dir / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(bert_dir)
    tokenizer.save_pretrained(bert_dir)
    transformer = models.Transformer(str(bert_dir), max_seq_length=64)
    get_dim = (
        transformer.get_embedding_dimension
        if hasattr(transformer, "get_embedding_dimension")
        else transformer.get_word_embedding_dimension
    )
    dim = get_dim()
    pooling = models.Pooling(dim, "mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(out))
    return out


def write_corpus(path: Path, docs: list[tuple[str, str, str]] = DOCS) -> Path:
    path.write_text("".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in docs))
    return path


def build_tiny_index(folder: Path, docs: list[tuple[str, str, str]] = DOCS, name: str = "index") -> Path:
    """Index ``docs`` with the tiny model (flat FAISS + bm25s) into ``folder/name``."""
    from thinkir.indexing.builder import build_index

    model = build_tiny_model(folder)
    corpus = write_corpus(folder / f"{name}-corpus.jsonl", docs)
    out = folder / name
    build_index(corpus, out, embedder=str(model), bm25="bm25s", progress=False, device="cpu", overwrite=True)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: the shared Redis of the integration tests (.ci/run exports THINKIR_REDIS_TEST_URL)
REDIS_TEST_URL = os.environ.get("THINKIR_REDIS_TEST_URL", "redis://127.0.0.1:6379/0")


def redis_reachable(host: str = "127.0.0.1", port: int = 6379, url: str | None = None) -> bool:
    try:
        import redis

        client = (
            redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
            if url
            else redis.Redis(host=host, port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
        )
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


def start_redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """A throw-away redis-server on ``port`` (no persistence), waited on until it answers PING."""
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not redis_reachable(port=port):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"redis-server did not start on port {port}")
        time.sleep(0.05)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def service_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THINKIR_")}
    env.update({"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"})
    env.update(extra)
    return env
