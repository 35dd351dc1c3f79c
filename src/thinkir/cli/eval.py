"""``thinkir eval retrieval | rerank | compare``: thin wrappers over :mod:`thinkir.evals`.

Human-readable lines go first; the last line on stdout is the contract JSON object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from thinkir.cli.groups import eval_app
from thinkir.config import get_settings

MEASURES_HELP = "Comma-separated ir-measures names [default: nDCG@10,nDCG@5,R@100,R@1000,RR@10,AP@100]."


def _finish(outcome, out: Path | None, run: Path | None) -> None:  # type: ignore[no-untyped-def]
    from thinkir.evals.metrics import summarize
    from thinkir.evals.report import latency_summary, print_contract

    outcome.save(out, run)
    lat = latency_summary(list(outcome.latencies_ms.values()))
    typer.echo(f"{outcome.task}: {outcome.pipeline} on {outcome.dataset}")
    typer.echo(summarize(outcome.result))
    typer.echo(f"latency per query: p50 {lat['p50']} ms, p99 {lat['p99']} ms")
    for path, what in ((out, "per-query results"), (run, "run")):
        if path is not None:
            typer.echo(f"wrote {what} to {path}")
    record = outcome.record()
    print_contract(**record)


@eval_app.command("retrieval")
def retrieval(
    data: Path = typer.Option(..., "--data", help="BEIR folder (corpus.jsonl[.gz], queries.jsonl, qrels/)."),
    split: str = typer.Option("test", "--split", help="Qrels split (qrels/<split>.tsv)."),
    pipeline: str = typer.Option("bm25", "--pipeline", help="bm25 | dense | hybrid."),
    reason: str = typer.Option("never", "--reason", help="auto | always | never (query reasoning)."),
    rerank: str = typer.Option("none", "--rerank", help="none | pointwise | dear, or a reranker name."),
    depth: int = typer.Option(100, "--depth", min=1, help="Candidates the reranker sees."),
    k: int = typer.Option(1000, "--k", min=1, help="Documents retrieved per query."),
    index: Path = typer.Option(None, "--index", help="Index of this corpus [default: cached, built once]."),
    embedder: str = typer.Option(None, "--embedder", help="Embedder [default: settings / the index's]."),
    measures: str = typer.Option(None, "--measures", help=MEASURES_HELP),
    batch_size: int = typer.Option(1, "--batch-size", min=1, help="Queries per search call (1: true latency)."),
    out: Path = typer.Option(None, "--out", help="Write per-query results (JSON)."),
    run: Path = typer.Option(None, "--run", help="Write the run (TREC format)."),
    device: str = typer.Option(None, "--device", help="cpu | cuda | auto."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide progress bars."),
) -> None:
    """Run a retrieval pipeline over a BEIR split and score it."""
    from thinkir.cli.search import _alias
    from thinkir.evals.retrieval import evaluate_retrieval

    settings = get_settings(device=device, embedder=embedder, progress=False if no_progress else None)
    outcome = evaluate_retrieval(
        data,
        settings,
        mode=pipeline,
        split=split,
        reason=reason,
        rerank=_alias(rerank),
        k=k,
        rerank_depth=depth,
        index=index,
        embedder=embedder,
        measures=measures,
        batch_size=batch_size,
    )
    _finish(outcome, out, run)


@eval_app.command("rerank")
def rerank(
    candidates: Path = typer.Option(..., "--candidates", help="RankGPT/rank_llm candidate JSON."),
    qrels: Path = typer.Option(..., "--qrels", help="Qrels (TREC or BEIR TSV)."),
    reranker: str = typer.Option("identity", "--reranker", help="Reranker registry name (identity, …)."),
    depth: int = typer.Option(100, "--depth", min=1, help="Rerank each query's top DEPTH candidates."),
    measures: str = typer.Option(None, "--measures", help=MEASURES_HELP),
    dataset: str = typer.Option(None, "--dataset", help="Dataset name in the report [default: folder name]."),
    out: Path = typer.Option(None, "--out", help="Write per-query results (JSON)."),
    run: Path = typer.Option(None, "--run", help="Write the reranked run (TREC format)."),
    model: str = typer.Option(
        None,
        "--model",
        help="cross-encoder: its model (id or path); dear-pointwise / dear-listwise: the adapter folder or id.",
    ),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide progress bars."),
) -> None:
    """Rerank a candidate file with a named reranker and score it."""
    from thinkir.cli.search import _alias
    from thinkir.errors import InputError
    from thinkir.evals.rerank import evaluate_rerank
    from thinkir.rerank import load_reranker

    settings = get_settings(progress=False if no_progress else None)
    name = _alias(reranker)
    chosen: str | Any = name
    if model is not None:
        key = {"cross-encoder": "model", "dear-pointwise": "adapter", "dear-listwise": "adapter"}.get(name)
        if key is None:
            raise InputError(f"--model applies to cross-encoder, dear-pointwise and dear-listwise, not {name!r}")
        chosen = load_reranker(name, **{key: model})
    outcome = evaluate_rerank(
        candidates,
        qrels,
        chosen,
        depth=depth,
        measures=measures,
        dataset=dataset,
        progress=settings.progress,
    )
    _finish(outcome, out, run)


@eval_app.command("compare")
def compare(
    run_a: Path = typer.Argument(..., help="Baseline run (TREC format)."),
    run_b: Path = typer.Argument(..., help="Run compared with the baseline (TREC format)."),
    qrels: Path = typer.Option(..., "--qrels", help="Qrels (TREC or BEIR TSV)."),
    measures: str = typer.Option("nDCG@10", "--measures", help="Comma-separated ir-measures names."),
    permutations: int = typer.Option(10_000, "--permutations", min=1, help="Randomisation-test permutations."),
    seed: int = typer.Option(0, "--seed", help="Randomisation-test seed."),
    out: Path = typer.Option(None, "--out", help="Write the comparison and per-query values (JSON)."),
) -> None:
    """Compare two runs: means, paired t-test and randomisation test (two-sided), win/tie/loss."""
    from thinkir.evals.compare import compare_runs
    from thinkir.evals.report import print_contract, write_json

    report = compare_runs(run_a, run_b, qrels, measures, permutations=permutations, seed=seed)
    typer.echo(f"A = {run_a}  ({report.counts_a['n_queries']} queries evaluated)")
    typer.echo(f"B = {run_b}  ({report.counts_b['n_queries']} queries evaluated)")
    typer.echo(report.table())
    record = report.record()
    if out is not None:
        write_json(out, report.payload())
        typer.echo(f"wrote comparison to {out}")
    print_contract(**record)
