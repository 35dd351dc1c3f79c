"""``thinkir search``: one query against an index directory."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from thinkir.cli import app
from thinkir.config import get_settings


@app.command("search")
def search(
    query: str = typer.Argument(..., help="The query text."),
    index: Path = typer.Option(..., "--index", help="Index directory built by `thinkir index build`."),
    k: int = typer.Option(10, "--k", min=1, max=1000, help="Number of results."),
    mode: str = typer.Option("dense", "--mode", help="dense | bm25 | hybrid."),
    reason: str = typer.Option("never", "--reason", help="auto | always | never (query reasoning, LREM)."),
    rerank: str = typer.Option("none", "--rerank", help="none | pointwise | dear, or a reranker name."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    embedder: str = typer.Option(None, "--embedder", help="Must match the index [default: from manifest]."),
    device: str = typer.Option(None, "--device", help="cpu | cuda | auto."),
    hybrid_weights: str = typer.Option(
        None, "--hybrid-weights", help="RRF weights 'dense,bm25' for --mode hybrid [default: 1,1]."
    ),
) -> None:
    """Search an index; prints ranked documents (or JSON with --json)."""
    from thinkir.errors import InputError
    from thinkir.pipeline import SearchPipeline
    from thinkir.service_factory import build_pipeline

    if not query.strip():
        raise InputError("the query is empty")
    weights = None
    if hybrid_weights:
        try:
            dense_w, bm25_w = (float(x) for x in hybrid_weights.split(","))
        except ValueError as err:
            raise InputError(f"--hybrid-weights takes two numbers 'dense,bm25', got {hybrid_weights!r}") from err
        weights = (dense_w, bm25_w)
    settings = get_settings(device=device, hybrid_weights=weights)
    pipeline: SearchPipeline = build_pipeline(index, settings, embedder=embedder)
    result = pipeline.search(query, k=k, mode=mode, reason=reason, rerank=_alias(rerank))
    if as_json:
        payload: dict[str, object] = {
            "query": query,
            "results": [
                {
                    "id": c.doc_id,
                    "score": round(c.score, 6),
                    "title": c.document.title if c.document else "",
                    "text": c.document.text if c.document else "",
                }
                for c in result.candidates
            ],
            "timings_ms": {name.removesuffix("_ms"): round(ms, 3) for name, ms in result.trace.timings_ms.items()},
        }
        if result.trace.reasoning:
            payload["reasoning"] = result.trace.reasoning
        if result.trace.rationale:
            payload["rationale"] = result.trace.rationale
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    if result.trace.reasoning:
        typer.echo(f"reasoning: {result.trace.reasoning}")
    for rank, c in enumerate(result.candidates, start=1):
        title = c.document.title if c.document else ""
        text = (c.document.text if c.document else "")[:160].replace("\n", " ")
        typer.echo(f"{rank:>3}. {c.doc_id}  {c.score:.4f}  {title + ' — ' if title else ''}{text}")


def _alias(rerank: str) -> str:
    """CLI names: ``pointwise`` is the DeAR stage-1 scorer."""
    return {"pointwise": "dear-pointwise"}.get(rerank, rerank)
