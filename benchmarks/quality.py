"""Quality benchmark: every configured pipeline on the shared benchmarks, our numbers beside published ones.

Regenerates ``docs/results.md`` (a markdown table) and ``docs/quality_latency.png`` (nDCG@10 against
per-query latency), and checks that thinkir's dense MiniLM search with an exact (flat) index is within
0.005 nDCG@10 of plain sentence-transformers (``SentenceTransformer.encode`` + exact numpy search) on
SciFact.

    nice -n 5 python benchmarks/quality.py                          # everything (SciFact indexed once)
    nice -n 5 python benchmarks/quality.py --index scifact=/work/indexes/scifact-minilm
    nice -n 5 python benchmarks/quality.py --only trec-dl19,trec-covid --no-parity

Add a pipeline with one line in :data:`BENCHMARKS`.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from thinkir.config import Settings, get_settings
from thinkir.evals.outcome import EvalOutcome
from thinkir.evals.report import latency_summary

ROOT = Path(__file__).resolve().parents[1]
PARITY_TOLERANCE = 0.005
logger = logging.getLogger("quality")


@dataclass(frozen=True)
class Published:
    value: str
    source: str


@dataclass(frozen=True)
class Context:
    data_dir: Path
    settings: Settings
    indexes: dict[str, Path]


class Benchmark(Protocol):
    dataset: str
    published: Published | None

    @property
    def label(self) -> str: ...

    def run(self, ctx: Context) -> EvalOutcome: ...


@dataclass(frozen=True)
class Retrieval:
    """``thinkir eval retrieval`` on a BEIR folder of the shared data."""

    dataset: str
    pipeline: str
    published: Published | None = None
    reason: str = "never"
    rerank: str = "none"
    split: str = "test"

    @property
    def label(self) -> str:
        from thinkir.evals.retrieval import pipeline_name

        return pipeline_name(self.pipeline, self.reason, self.rerank)

    def run(self, ctx: Context) -> EvalOutcome:
        from thinkir.evals.retrieval import evaluate_retrieval

        return evaluate_retrieval(
            ctx.data_dir / self.dataset,
            ctx.settings,
            mode=self.pipeline,
            split=self.split,
            reason=self.reason,
            rerank=self.rerank,
            index=ctx.indexes.get(self.dataset),
        )


@dataclass(frozen=True)
class Rerank:
    """``thinkir eval rerank`` on a candidate file of the shared data (qrels in ``qrels.txt``)."""

    dataset: str
    candidates: str
    reranker: str
    depth: int
    published: Published | None = None

    @property
    def label(self) -> str:
        return f"{self.candidates.removesuffix('.json')} → {self.reranker}@{self.depth}"

    def run(self, ctx: Context) -> EvalOutcome:
        from thinkir.evals.rerank import evaluate_rerank

        folder = ctx.data_dir / self.dataset
        return evaluate_rerank(folder / self.candidates, folder / "qrels.txt", self.reranker, depth=self.depth)


BM25_SCIFACT = Published(
    "0.665–0.679",
    "Lucene BM25 (k1 0.9, b 0.4), multifield 0.665 (BEIR, Thakur et al. 2021) / flat 0.679 (Pyserini BEIR "
    "regressions); as listed in ../shared/data/README.md",
)
MINILM_SCIFACT = Published("0.645", "all-MiniLM-L6-v2 on BEIR SciFact, SBERT / BEIR leaderboard")
DL19 = Published("0.5058", "BM25 top-100 run of castorini rank_llm (../shared/data/README.md)")
COVID = Published("0.5947", "BM25 top-20 run of the Reason-to-Rank release, Anserini qrels (../shared/data/README.md)")

#: every configured pipeline; later pipelines (reasoning, DeAR reranking) add one line each
BENCHMARKS: list[Benchmark] = [
    Retrieval("scifact", "bm25", BM25_SCIFACT),
    Retrieval("scifact", "dense", MINILM_SCIFACT),
    Retrieval("scifact", "hybrid"),
    Rerank("trec-dl19", "bm25_top100.json", "identity", 100, DL19),
    Rerank("trec-covid", "bm25_top20.json", "identity", 20, COVID),
]


# ---- the sentence-transformers parity check --------------------------------------------------------
@dataclass(frozen=True)
class Parity:
    thinkir: float
    sentence_transformers: float
    encode_s: float

    @property
    def diff(self) -> float:
        return abs(self.thinkir - self.sentence_transformers)

    @property
    def ok(self) -> bool:
        return self.diff <= PARITY_TOLERANCE


def sentence_transformers_ndcg(folder: Path, model_path: str, k: int = 1000) -> tuple[float, float]:
    """nDCG@10 of plain sentence-transformers: encode (normalised) + exact inner-product search in numpy.

    Returns ``(nDCG@10, seconds spent encoding)``. Documents are embedded as ``title + " " + text`` (BEIR).
    """
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from thinkir.evals.datasets import load_beir
    from thinkir.evals.metrics import evaluate
    from thinkir.indexing.readers import read_corpus

    ds = load_beir(folder, "test")
    docs = list(read_corpus(ds.corpus_path))
    model = SentenceTransformer(model_path, device="cpu")
    t0 = time.perf_counter()
    doc_vecs = model.encode(
        [d.full_text for d in docs],
        batch_size=64,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    query_vecs = model.encode(
        [q.text for q in ds.queries],
        batch_size=64,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    encode_s = time.perf_counter() - t0
    scores = query_vecs @ doc_vecs.T  # [n_queries, n_docs]
    k = min(k, len(docs))
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    run = {}
    for qi, q in enumerate(ds.queries):
        order = top[qi][np.argsort(-scores[qi, top[qi]], kind="stable")]
        run[q.id] = [(docs[j].id, float(scores[qi, j])) for j in order]
    result = evaluate(ds.qrels, run, ["nDCG@10"], query_ids=[q.id for q in ds.queries])
    return result.metrics["nDCG@10"], encode_s


def check_parity(ctx: Context, dense: EvalOutcome) -> Parity:
    from thinkir.indexing.manifest import Manifest
    from thinkir.models import resolve

    manifest = Manifest.read(Path(dense.details["index"]))
    if manifest.faiss_factory != "Flat":
        raise SystemExit(f"parity needs an exact (Flat) index, got {manifest.faiss_factory}")
    model_path = resolve(manifest.embedder.name, "embedder")
    st, encode_s = sentence_transformers_ndcg(ctx.data_dir / "scifact", model_path)
    return Parity(dense.result.metrics["nDCG@10"], st, encode_s)


# ---- report -----------------------------------------------------------------------------------------
def plot(rows: list[tuple[Benchmark, EvalOutcome]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    markers = {}
    for bench, out in rows:
        lat = latency_summary(list(out.latencies_ms.values()))["p50"] or 0.0
        marker = markers.setdefault(out.dataset, "osD^v<>"[len(markers) % 7])
        ax.scatter(
            max(lat, 1e-3), out.result.metrics["nDCG@10"], marker=marker, s=60, label=f"{out.dataset}: {bench.label}"
        )
        ax.annotate(
            f"{out.dataset}/{bench.label}",
            (max(lat, 1e-3), out.result.metrics["nDCG@10"]),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=7,
        )
    ax.set_xscale("log")
    ax.set_xlabel("latency per query, p50 (ms, log scale)")
    ax.set_ylabel("nDCG@10")
    ax.set_title("thinkir: quality vs latency")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def markdown(rows: list[tuple[Benchmark, EvalOutcome]], parity: Parity | None, plot_name: str, command: str) -> str:
    import torch

    cpu = f"{platform.machine()}, {os.cpu_count()} CPU cores visible"
    threads = f"{torch.get_num_threads()} torch thread(s)"
    lines = [
        "# Results",
        "",
        f"Generated by `benchmarks/quality.py` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; do not edit "
        "by hand, rerun it:",
        "",
        f"    {command}",
        "",
        "nDCG@10 on the shared offline benchmarks (`../shared/data`), computed with ir-measures (trec_eval "
        "definitions), beside the published figure for the same data. Latency is the wall time of one query "
        f"through the pipeline (batch size 1, after one warm-up query, {threads}) on {cpu}, shared with other "
        "jobs, so treat it as indicative.",
        "",
        "| dataset | pipeline | nDCG@10 | published nDCG@10 | R@100 | RR@10 | AP@100 | queries | p50 ms | p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for bench, out in rows:
        m = out.result.metrics
        lat = latency_summary(list(out.latencies_ms.values()))
        pub = "—"
        if bench.published is not None:
            notes.append(bench.published)
            pub = f"{bench.published.value} [{len(notes)}]"
        lines.append(
            f"| {out.dataset} | {bench.label} | **{m['nDCG@10']:.4f}** | {pub} | {m['R@100']:.4f} | "
            f"{m['RR@10']:.4f} | {m['AP@100']:.4f} | {out.result.n_queries} | {lat['p50']:.2f} | {lat['p99']:.2f} |"
        )
    lines += ["", "Sources of the published figures:", ""]
    lines += [f"{i}. {p.source}." for i, p in enumerate(notes, start=1)]
    unjudged = sum(len(o.result.unjudged) for _, o in rows)
    empty = sum(len(o.result.empty) for _, o in rows)
    lines += [
        "",
        "Every query with at least one judged document is evaluated (a judged query with no results scores 0); "
        f"across the runs above, {unjudged} queries had no judged document (left out of the means) and "
        f"{empty} judged queries got no results. Rerank rows time the reranking stage only (the candidates "
        "come from the file); retrieval rows time the whole pipeline at k = 1000 (R@1000 needs it), which includes "
        "reading the 1000 documents' text from the document store for every query.",
        "",
    ]
    if parity is not None:
        verdict = "PASS" if parity.ok else "FAIL"
        lines += [
            "## Dense parity with plain sentence-transformers",
            "",
            "all-MiniLM-L6-v2 on SciFact test, exact search: thinkir (`thinkir eval retrieval --pipeline dense`, "
            "flat FAISS index) against `SentenceTransformer.encode(normalize_embeddings=True)` + exact numpy "
            'inner-product search over the same documents (`title + " " + text`).',
            "",
            "| | nDCG@10 |",
            "|---|---:|",
            f"| thinkir | {parity.thinkir:.4f} |",
            f"| sentence-transformers | {parity.sentence_transformers:.4f} |",
            f"| absolute difference | {parity.diff:.4f} (tolerance {PARITY_TOLERANCE}: **{verdict}**) |",
            "",
        ]
    lines += [f"![quality vs latency]({plot_name})", ""]
    lines += [
        "## The methods' own results",
        "",
        "- DeAR reranking (stage 1, stage 1 + 2, the teacher comparison, significance, latency): "
        "[results_dear.md](results_dear.md)",
        "- LREM reasoning retrieval (SciFact, DL19, router curve): [results_lrem.md](results_lrem.md)",
        "- GREEN NAICS classification: [results_classify.md](results_classify.md)",
        "- GPU runs: [results_gpu.md](results_gpu.md)",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None, help="shared data [default: settings.data_dir]")
    parser.add_argument(
        "--index",
        action="append",
        default=[],
        metavar="DATASET=DIR",
        help="prebuilt index of a dataset's corpus (default: the cached one, built once)",
    )
    parser.add_argument("--only", default="", help="comma-separated datasets to run")
    parser.add_argument("--no-parity", action="store_true", help="skip the sentence-transformers parity check")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (1 gives steadier per-query latency on a shared machine)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results.md")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "quality_latency.png")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    settings = get_settings(progress=False, device="cpu")
    data_dir = (args.data_dir or settings.data_dir).resolve()
    indexes = {}
    for spec in args.index:
        name, _, folder = spec.partition("=")
        indexes[name] = Path(folder)
    ctx = Context(data_dir, settings, indexes)
    only = {s for s in args.only.split(",") if s}

    rows: list[tuple[Benchmark, EvalOutcome]] = []
    for bench in BENCHMARKS:
        if only and bench.dataset not in only:
            continue
        t0 = time.perf_counter()
        out = bench.run(ctx)
        lat = latency_summary(list(out.latencies_ms.values()))
        print(
            f"{out.dataset:<11} {bench.label:<32} nDCG@10 {out.result.metrics['nDCG@10']:.4f}  "
            f"published {bench.published.value if bench.published else '—':<12} p50 {lat['p50']} ms  "
            f"({out.result.n_queries} queries, {time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
        rows.append((bench, out))

    parity = None
    dense = next((o for b, o in rows if o.dataset == "scifact" and b.label == "dense"), None)
    if dense is not None and not args.no_parity:
        parity = check_parity(ctx, dense)
        print(
            f"dense parity on scifact: thinkir {parity.thinkir:.4f}, sentence-transformers "
            f"{parity.sentence_transformers:.4f}, |diff| {parity.diff:.4f} -> {'PASS' if parity.ok else 'FAIL'}"
        )

    command = (
        "nice -n 5 python benchmarks/quality.py"
        + (f" --threads {args.threads}" if args.threads else "")
        + "".join(f" --index {s}" for s in args.index)
        + (f" --only {args.only}" if args.only else "")
    )
    plot(rows, args.plot)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown(rows, parity, os.path.relpath(args.plot, args.out.parent), command))
    print(f"wrote {args.out} and {args.plot}")
    return 0 if parity is None or parity.ok else 1


if __name__ == "__main__":
    sys.exit(main())
