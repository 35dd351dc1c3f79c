"""LREM evaluation on SciFact: dense retrieval over the whole corpus, every variant of the issue.

Variants (test queries; the dev split of the train queries for the dev table):

* ``direct_minilm``: MiniLM, no reasoning;
* ``two_tower_{cold,grpo}``: MiniLM embeds ``query keywords``, keywords written by the LREM model;
* ``unified_{cold,grpo}``: the LREM model writes keywords and embeds at ``<emb>``;
* ablations of each unified model: ``empty`` CoT (``<think></think>``, i.e. direct unified
  embedding), ``random`` CoT (random corpus words, as many as the generated keywords), ``query`` CoT
  (the query repeated as its own reasoning);
* the router at several thresholds, over the best unified and two-tower systems: share of queries
  reasoned, nDCG@10, R@100, and per-query latency p50/p99. The router is fitted on the *dev* split
  (label: reasoning improved the query's nDCG@10) and its thresholds are the dev quantiles of its
  probability, fixed before the test queries are looked at.

Latency: every query's reasoning and direct costs are measured one query at a time (batch 1, no cache)
on a sample of test queries; a routed query costs direct + BM25 (router signals) + reasoning when
routed. Search is exact (torch matrix product) so no FAISS is needed.

Metrics through ir-measures (``thinkir.evals``) when installed, else a built-in implementation of
the same trec_eval definitions (nDCG with linear gains, recall of relevant documents).
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from thinkir.training.lrem_data import load_config, load_scifact

logger = logging.getLogger(__name__)

Run = dict[str, list[tuple[str, float]]]


@dataclass
class LremEvalConfig:
    """Evaluation settings (section ``eval``)."""

    data_dir: str = "../shared/data"
    dataset: str = "scifact"  # scifact | dl19 (the union of the DL19 BM25 top-100 passages, ~4,300)
    routers_from: str = ""  # dl19: the SciFact eval folder whose dev-fitted routers and thresholds are reused
    out_dir: str = "runs/lrem/eval"
    split: str = "runs/lrem/data/split.json"
    llm: str = "smollm2-135m"
    retriever: str = "minilm"
    cold_adapter: str = "runs/lrem/cold_start"
    grpo_adapter: str = "runs/lrem/grpo"
    max_doc_tokens: int = 256
    max_batch_tokens: int = 65536
    max_test_queries: int = 0  # 0: all 300
    max_dev_queries: int = 0
    max_corpus_docs: int = 0  # 0: the whole corpus; else the judged documents plus a sample
    depth: int = 100
    router_quantiles: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)  # share of dev queries NOT reasoned
    latency_sample: int = 32
    permutations: int = 10000
    seed: int = 13
    device: str | None = None
    dtype: str = ""  # LREM model dtype: "" picks (bf16 on CUDA, fp32 on CPU); "bfloat16" for a fast CPU run
    partial_path: str = ""  # when set, the metrics so far are rewritten here after every system


# ---- metrics ------------------------------------------------------------------------------------
def metrics_builtin(qrels: dict[str, dict[str, int]], run: Run) -> dict[str, dict[str, float]]:
    """Per-query nDCG@10 and R@100 with trec_eval's definitions (linear gains, log2 discount)."""
    out = {}
    for q, judged in qrels.items():
        ranked = [d for d, _ in sorted(run.get(q, []), key=lambda p: (-p[1], p[0]))]
        gains = [max(judged.get(d, 0), 0) for d in ranked[:10]]
        dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
        ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:10]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        rel = {d for d, g in judged.items() if g > 0}
        rec = len(rel & set(ranked[:100])) / len(rel) if rel else 0.0
        out[q] = {"nDCG@10": dcg / idcg if idcg else 0.0, "R@100": rec}
    return out


def per_query_metrics(qrels: dict[str, dict[str, int]], run: Run) -> dict[str, dict[str, float]]:
    try:
        from thinkir.evals.metrics import evaluate

        return evaluate(qrels, run, ["nDCG@10", "R@100"], query_ids=list(qrels)).per_query
    except ImportError:
        return metrics_builtin(qrels, run)


def summarize(per_query: dict[str, dict[str, float]]) -> dict[str, float]:
    n = max(len(per_query), 1)
    return {m: round(sum(v[m] for v in per_query.values()) / n, 4) for m in ("nDCG@10", "R@100")}


def significance(
    base: dict[str, dict[str, float]], other: dict[str, dict[str, float]], permutations: int, measure: str = "nDCG@10"
) -> dict[str, float]:
    from thinkir.evals.significance import paired_t_test, randomization_test

    qs = sorted(base)
    a = np.array([base[q][measure] for q in qs])
    b = np.array([other[q][measure] for q in qs])
    return {
        "delta": round(float((b - a).mean()), 4),
        "p_ttest": round(paired_t_test(a, b), 4),
        "p_randomization": round(randomization_test(a, b, permutations), 4),
    }


# ---- search -------------------------------------------------------------------------------------
class ExactIndex:
    """Unit document vectors on the device; exact top-k by inner product."""

    def __init__(self, vectors: np.ndarray, ids: Sequence[str], device: str) -> None:
        import torch

        self.matrix = torch.from_numpy(vectors).to(device)
        self.ids = list(ids)
        self.device = device

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import torch

        q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32)).to(self.device)
        with torch.inference_mode():
            s, i = torch.topk(q @ self.matrix.T.float(), min(k, self.matrix.shape[0]), dim=1)
        return s.cpu().numpy(), i.cpu().numpy()

    def run(self, qids: Sequence[str], queries: np.ndarray, k: int) -> Run:
        scores, idx = self.search(queries, k)
        return {
            q: [(self.ids[j], float(s)) for s, j in zip(srow, irow, strict=True)]
            for q, srow, irow in zip(qids, scores, idx, strict=True)
        }


def bm25_top(corpus: Sequence[str], queries: Sequence[str], k: int) -> np.ndarray:
    """BM25 top-``k`` document positions (``bm25s`` when installed, else a small scipy version)."""
    try:
        from thinkir.retrieval.bm25 import BM25sBackend

        backend = BM25sBackend()
        backend.build(corpus)
        return backend.search(list(queries), k)[1]
    except ImportError:
        return _bm25_scipy(corpus, queries, k)


def _bm25_scipy(corpus: Sequence[str], queries: Sequence[str], k: int, k1: float = 0.9, b: float = 0.4) -> np.ndarray:
    from scipy import sparse

    from thinkir.training.lrem_data import _STOP, stem, words

    def toks(t: str) -> list[str]:
        return [stem(w) for w in words(t) if w not in _STOP]

    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    lengths = []
    for i, text in enumerate(corpus):
        counts: dict[int, int] = {}
        tt = toks(text)
        lengths.append(len(tt))
        for w in tt:
            j = vocab.setdefault(w, len(vocab))
            counts[j] = counts.get(j, 0) + 1
        for j, c in counts.items():
            rows.append(i)
            cols.append(j)
            vals.append(c)
    tf = sparse.csr_matrix((vals, (rows, cols)), shape=(len(corpus), len(vocab)), dtype=np.float32)
    dl = np.asarray(lengths, np.float32)
    df = np.bincount(cols, minlength=len(vocab)).astype(np.float32)
    idf = np.log(1 + (len(corpus) - df + 0.5) / (df + 0.5))
    tf = tf.tocoo()
    norm = k1 * (1 - b + b * dl[tf.row] / max(dl.mean(), 1e-6))
    w = sparse.csr_matrix((tf.data * (k1 + 1) / (tf.data + norm) * idf[tf.col], (tf.row, tf.col)), shape=tf.shape)
    out = np.full((len(queries), k), -1, dtype=np.int64)
    for qi, q in enumerate(queries):
        terms = [vocab[t] for t in toks(q) if t in vocab]
        if not terms:
            continue
        scores = np.asarray(w[:, terms].sum(axis=1)).ravel()
        top = np.argsort(-scores)[:k]
        out[qi, : len(top)] = np.where(scores[top] > 0, top, -1)
    return out


# ---- the evaluation -----------------------------------------------------------------------------
@dataclass
class _Split:
    qids: list[str]
    texts: list[str]
    qrels: dict[str, dict[str, int]]
    results: dict[str, Any] = field(default_factory=dict)
    per_query: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)


def _load_scifact_splits(cfg: LremEvalConfig) -> tuple[list[str], list[str], dict[str, _Split]]:
    """The SciFact corpus, its test queries and the dev split of the train queries (never trained on)."""
    sf = load_scifact(Path(cfg.data_dir) / "scifact")
    split = json.loads(Path(cfg.split).read_text())
    test_q = sorted(sf["qrels"]["test"], key=int)[: cfg.max_test_queries or None]
    dev_q = [q for q in split["dev"] if q in sf["qrels"].get("train", {})][: cfg.max_dev_queries or None]
    if set(dev_q) & set(test_q):
        raise RuntimeError("dev and test queries overlap")
    judged = {d for q in test_q for d in sf["qrels"]["test"][q]} | {d for q in dev_q for d in sf["qrels"]["train"][q]}
    if cfg.max_corpus_docs:
        sf = {**sf, "corpus": load_scifact(Path(cfg.data_dir) / "scifact", cfg.max_corpus_docs, judged)["corpus"]}
    doc_ids = sorted(sf["corpus"])
    docs = [f"{t} {x}".strip() for t, x in (sf["corpus"][d] for d in doc_ids)]
    splits = {
        "test": _Split(test_q, [sf["queries"][q] for q in test_q], {q: sf["qrels"]["test"][q] for q in test_q}),
        "dev": _Split(dev_q, [sf["queries"][q] for q in dev_q], {q: sf["qrels"]["train"][q] for q in dev_q}),
    }
    return doc_ids, docs, splits


def _load_dl19(cfg: LremEvalConfig) -> tuple[list[str], list[str], dict[str, _Split]]:
    """DL19 as a dense-retrieval task: the corpus is the union of every query's BM25 top-100 passages
    (about 4,300), the queries the 43 judged ones. There is no dev split: the routers and thresholds
    come from the SciFact evaluation (``routers_from``), so nothing is tuned on DL19."""
    folder = Path(cfg.data_dir) / "trec-dl19"
    rows = json.loads((folder / "bm25_top100.json").read_text())
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels.txt").read_text().splitlines():
        if line.strip():
            q, _, d, g = line.split()
            qrels.setdefault(q, {})[d] = int(g)
    corpus: dict[str, str] = {}
    queries: dict[str, str] = {}
    for row in rows:
        for hit in row["hits"]:
            queries[str(hit["qid"])] = row["query"]
            corpus.setdefault(str(hit["docid"]), hit["content"])
    qids = sorted((q for q in queries if q in qrels), key=int)[: cfg.max_test_queries or None]
    doc_ids = sorted(corpus)[: cfg.max_corpus_docs or None]
    docs = [corpus[d] for d in doc_ids]
    return doc_ids, docs, {"test": _Split(qids, [queries[q] for q in qids], {q: qrels[q] for q in qids})}


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    _sync()
    return out, time.perf_counter() - t


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def evaluate_lrem(cfg: LremEvalConfig) -> dict[str, Any]:
    """Run every variant; write run files and ``summary.json`` into ``cfg.out_dir``; return the summary."""
    from thinkir.device import pick_device, torch_dtype
    from thinkir.evals.runs import write_run
    from thinkir.retrieval.reasoning.embedder import ReasoningEmbedder
    from thinkir.retrieval.reasoning.lm import LremLM
    from thinkir.retrieval.reasoning.reasoner import two_tower_text
    from thinkir.retrieval.reasoning.router import router_features
    from thinkir.training.lrem_data import DenseRetriever

    device = pick_device(cfg.device)
    out = Path(cfg.out_dir)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    rng = random.Random(cfg.seed)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()

    if cfg.dataset == "scifact":
        doc_ids, docs, splits = _load_scifact_splits(cfg)
    elif cfg.dataset == "dl19":
        doc_ids, docs, splits = _load_dl19(cfg)
    else:
        raise ValueError(f"unknown dataset {cfg.dataset!r}: scifact or dl19")
    test_q = splits["test"].qids
    lat_idx = sorted(rng.sample(range(len(test_q)), min(cfg.latency_sample, len(test_q))))
    latency: dict[str, list[float]] = {}

    def record(split_name: str, name: str, run: Run, save: bool = True) -> None:
        s = splits[split_name]
        pq = per_query_metrics(s.qrels, run)
        s.per_query[name] = pq
        s.results[name] = summarize(pq)
        if save:  # (the cold-start router sweeps are not saved, to keep the artefacts small)
            write_run(out / "runs" / f"{split_name}.{name}.trec", run, tag=name)
        if cfg.partial_path:  # survives a run cut short by a time limit
            partial = {n: sp.results for n, sp in splits.items()} | {"timings_s": timings}
            Path(cfg.partial_path).write_text(json.dumps(partial, indent=1))
        logger.info("%s %s %s", split_name, name, s.results[name])

    # direct MiniLM + BM25 signals
    retr, timings["load_minilm_s"] = _timed(lambda: DenseRetriever(cfg.retriever, device=device))
    doc_mini, timings["encode_corpus_minilm_s"] = _timed(lambda: retr.encode(docs, cache=True))
    mini = ExactIndex(doc_mini, doc_ids, device)
    bm25, timings["bm25_s"] = _timed(lambda: {n: bm25_top(docs, s.texts, 10) for n, s in splits.items()})
    direct_vecs: dict[str, dict[str, np.ndarray]] = {"minilm": {}}
    for n, s in splits.items():
        direct_vecs["minilm"][n] = retr.encode(s.texts)
        record(n, "direct_minilm", mini.run(s.qids, direct_vecs["minilm"][n], cfg.depth))
    lat_texts = [splits["test"].texts[i] for i in lat_idx]
    latency["direct_minilm"] = _per_query_seconds(lambda t: mini.search(retr.encode([t]), cfg.depth), lat_texts)
    # BM25 for the router's signals, one query at a time
    latency["bm25"] = _bm25_latency(docs, lat_texts)

    keywords: dict[str, dict[str, list[str]]] = {}
    systems: dict[str, dict[str, Any]] = {}
    for stage, adapters in (("cold", [cfg.cold_adapter]), ("grpo", [cfg.cold_adapter, cfg.grpo_adapter])):
        t0 = time.perf_counter()
        lm = LremLM.load(
            cfg.llm, adapters=adapters, device=device, dtype=torch_dtype(cfg.dtype), max_doc_tokens=cfg.max_doc_tokens
        )
        enc = ReasoningEmbedder(f"{cfg.llm}+" + "+".join(adapters), lm=lm, max_batch_tokens=cfg.max_batch_tokens)
        doc_vecs, timings[f"encode_corpus_{stage}_s"] = _timed(partial(enc.encode, docs, kind="document"))
        index = ExactIndex(doc_vecs, doc_ids, device)
        keywords[stage] = {}
        for n, s in splits.items():
            gens, timings[f"generate_{stage}_{n}_s"] = _timed(partial(lm.generate, s.texts, batch_size=128))
            kws = [g[0].text for g in gens]
            keywords[stage][n] = kws
            reasoned = enc.encode_reasoned(s.texts, kws)
            direct = enc.encode_reasoned(s.texts, [""] * len(kws))
            direct_vecs.setdefault(f"unified_{stage}", {})[n] = direct
            record(n, f"unified_{stage}", index.run(s.qids, reasoned, cfg.depth))
            two = retr.encode([two_tower_text(t, k) for t, k in zip(s.texts, kws, strict=True)])
            record(n, f"two_tower_{stage}", mini.run(s.qids, two, cfg.depth))
            systems.setdefault(f"unified_{stage}", {})[n] = (direct, reasoned, index)
            systems.setdefault(f"two_tower_{stage}", {})[n] = (direct_vecs["minilm"][n], two, mini)
            if n == "test":
                record(n, f"unified_{stage}_ablation_empty", index.run(s.qids, direct, cfg.depth))
                rand = _random_keywords(docs, [len(lm.keyword_ids(k)) for k in kws], lm, rng)
                record(
                    n,
                    f"unified_{stage}_ablation_random",
                    index.run(s.qids, enc.encode_reasoned(s.texts, rand), cfg.depth),
                )
                record(
                    n,
                    f"unified_{stage}_ablation_query",
                    index.run(s.qids, enc.encode_reasoned(s.texts, s.texts), cfg.depth),
                )

        def unified(text: str, reason: bool, lm: Any = lm, enc: Any = enc, index: Any = index) -> Any:
            kw = lm.generate([text])[0][0].text if reason else ""
            return index.search(enc.encode_reasoned([text], [kw]), cfg.depth)

        def two_tower(text: str, lm: Any = lm) -> Any:
            kw = lm.generate([text])[0][0].text
            return mini.search(retr.encode([two_tower_text(text, kw)]), cfg.depth)

        latency[f"unified_{stage}_direct"] = _per_query_seconds(lambda t: unified(t, False), lat_texts)
        latency[f"unified_{stage}_reason"] = _per_query_seconds(lambda t: unified(t, True), lat_texts)
        latency[f"two_tower_{stage}_reason"] = _per_query_seconds(two_tower, lat_texts)
        timings[f"stage_{stage}_total_s"] = time.perf_counter() - t0
        del lm, enc, index
        _free()

    # the router, fitted on dev, swept over thresholds fixed on dev
    routers: dict[str, Any] = {}
    for system in ("unified_grpo", "two_tower_grpo", "unified_cold", "two_tower_cold"):
        feats = {}
        for n, s in splits.items():
            direct, _, index = systems[system][n]
            sc, ids = index.search(direct, 10)
            feats[n] = router_features(sc, ids, bm25[n], [len(t.split()) for t in s.texts], 10)
        if "dev" in splits:
            router, thresholds, labels = _fit_router(cfg, splits["dev"], systems[system]["dev"], system, feats["dev"])
        else:
            router, thresholds, labels = _reused_router(cfg, system)
        curve = []
        s = splits["test"]
        direct, reasoned, index = systems[system]["test"]
        p_test = router.probability(feats["test"])
        lat_direct = latency["direct_minilm"] if system.startswith("two") else latency[f"{system}_direct"]
        lat_reason = latency[f"{system}_reason"]
        for t in thresholds:
            use = p_test >= t
            vecs = np.where(use[:, None], reasoned, direct)
            name = f"router_{system}_t{t:.3f}"
            record("test", name, index.run(s.qids, vecs, cfg.depth), save=system.endswith("grpo"))
            per_q_ms = [
                1000 * (lat_direct[j] + latency["bm25"][j] + (lat_reason[j] if use[i] else 0.0))
                for j, i in enumerate(lat_idx)
            ]
            curve.append(
                {
                    "threshold": round(t, 4),
                    "share_reasoned": round(float(use.mean()), 4),
                    **s.results[name],
                    "latency_ms": _pct(per_q_ms),
                    "vs_direct_minilm": significance(s.per_query["direct_minilm"], s.per_query[name], cfg.permutations),
                }
            )
        routers[system] = {
            "router": asdict(router),
            "dev_labels_positive": int(labels.sum()),
            "n_dev": len(labels),
            "curve": curve,
        }
        router.save(out / f"router_{system}.json")
        if "dev" not in splits:
            routers[system]["routers_from"] = cfg.routers_from

    test = splits["test"]
    sig = {
        name: significance(test.per_query["direct_minilm"], pq, cfg.permutations)
        for name, pq in test.per_query.items()
        if name != "direct_minilm" and not name.startswith("router_")
    }
    lat_summary = {k: _pct([1000 * x for x in v]) for k, v in latency.items()}
    examples = [
        {"query": test.texts[i], "cold": keywords["cold"]["test"][i], "grpo": keywords["grpo"]["test"][i]}
        for i in range(min(8, len(test.qids)))
    ]
    timings["total_s"] = time.perf_counter() - t_all
    summary = {
        "dataset": cfg.dataset,
        "device": device,
        "n_test": len(test.qids),
        "n_dev": len(splits["dev"].qids) if "dev" in splits else 0,
        "n_docs": len(doc_ids),
        "test": test.results,
        "dev": splits["dev"].results if "dev" in splits else {},
        "significance_vs_direct_minilm": sig,
        "router": routers,
        "latency_ms_per_query": lat_summary,
        "keyword_examples": examples,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "config": asdict(cfg),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _fit_router(
    cfg: LremEvalConfig, dev: _Split, system_dev: tuple[Any, Any, Any], system: str, features: np.ndarray
) -> tuple[Any, list[float], np.ndarray]:
    """Fit the router on dev (label: reasoning beat the direct embedding on the query's nDCG@10) and
    fix its thresholds at the dev quantiles of its probability."""
    from thinkir.retrieval.reasoning.router import Router

    if system.startswith("two_tower"):
        dev_direct = dev.per_query["direct_minilm"]
    else:  # the unified model's own direct embedding (empty reasoning) on dev
        d_dir, _, d_index = system_dev
        dev_direct = per_query_metrics(dev.qrels, d_index.run(dev.qids, d_dir, cfg.depth))
    labels = np.array([dev.per_query[system][q]["nDCG@10"] > dev_direct[q]["nDCG@10"] for q in dev.qids], float)
    router = Router()
    if 0 < labels.sum() < len(labels):
        router.fit(features, labels)
    p_dev = router.probability(features)
    thresholds = sorted(
        {float(np.quantile(p_dev, qq)) if 0 < qq < 1 else (0.0 if qq == 0 else 1.01) for qq in cfg.router_quantiles}
    )
    return router, thresholds, labels


def _reused_router(cfg: LremEvalConfig, system: str) -> tuple[Any, list[float], np.ndarray]:
    """The router and thresholds a SciFact evaluation fitted on its dev split (``cfg.routers_from``)."""
    from thinkir.retrieval.reasoning.router import Router

    if not cfg.routers_from:
        raise ValueError(f"dataset {cfg.dataset!r} has no dev split: set routers_from to a SciFact eval folder")
    folder = Path(cfg.routers_from)
    summary = json.loads((folder / "summary.json").read_text())
    thresholds = [float(c["threshold"]) for c in summary["router"][system]["curve"]]
    return Router.load(folder / f"router_{system}.json"), thresholds, np.zeros(0)


def _per_query_seconds(fn: Callable[[str], Any], texts: Sequence[str]) -> list[float]:
    """Wall time of ``fn(text)`` for each text, one at a time, after one untimed warm-up call."""
    if texts:
        fn(texts[0])
    return [_timed(partial(fn, t))[1] for t in texts]


def _pct(values_ms: Sequence[float]) -> dict[str, float]:
    if not values_ms:
        return {"p50": 0.0, "p99": 0.0}
    return {"p50": round(float(np.percentile(values_ms, 50)), 2), "p99": round(float(np.percentile(values_ms, 99)), 2)}


def _bm25_latency(docs: Sequence[str], queries: Sequence[str]) -> list[float]:
    try:
        from thinkir.retrieval.bm25 import BM25sBackend

        backend = BM25sBackend()
        backend.build(docs)
        return _per_query_seconds(lambda q: backend.search([q], 10), queries)
    except ImportError:
        return [0.0 for _ in queries]  # the scipy fallback is not a serving path; not timed


def _random_keywords(docs: Sequence[str], lengths: Sequence[int], lm: Any, rng: random.Random) -> list[str]:
    """Random corpus words, about as many tokens as each generated reasoning (at least 3 words)."""
    vocab = sorted({w.lower() for d in docs[:2000] for w in re.findall(r"[A-Za-z]{4,}", d)})
    out = []
    for n in lengths:
        picked: list[str] = []
        while len(lm.keyword_ids(", ".join(picked))) < max(n, 3) and len(picked) < 16:
            picked.append(rng.choice(vocab))
        out.append(", ".join(picked))
    return out


def _free() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Evaluate LREM on SciFact (section 'eval' of a config).")
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", action="append", default=[], help="key=value override")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    summary = evaluate_lrem(load_config(LremEvalConfig, args.config, "eval", args.set))
    print(json.dumps({"test": summary["test"], "dev": summary["dev"], "timings_s": summary["timings_s"]}))


if __name__ == "__main__":
    main()
