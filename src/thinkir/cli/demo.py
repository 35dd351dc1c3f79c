"""``thinkir demo``: build a SciFact index on the embedded defaults and run example searches."""

from __future__ import annotations

from pathlib import Path

import typer

from thinkir.cli import app
from thinkir.config import get_settings

EXAMPLE_QUERIES = (
    "vitamin D deficiency and bone density",
    "does smoking increase the risk of tuberculosis",
    "microRNA regulation of cancer cell proliferation",
)


@app.command("demo")
def demo(
    data: Path = typer.Option(None, "--data", help="SciFact folder [default: <data_dir>/scifact]."),
    out: Path = typer.Option(None, "--out", help="Index directory [default: <cache_dir>/indexes/scifact]."),
    k: int = typer.Option(3, "--k", min=1, help="Results per example query."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild even if the index exists."),
) -> None:
    """Build (once) a SciFact index with MiniLM + bm25s and search it dense, BM25 and hybrid."""
    from thinkir.errors import InputError
    from thinkir.indexing.builder import build_index
    from thinkir.service_factory import build_pipeline

    settings = get_settings()
    data = data or settings.data_dir / "scifact"
    corpus = data / "corpus.jsonl.gz" if data.is_dir() else data
    if not corpus.is_file():
        raise InputError(f"SciFact corpus not found at {corpus}; pass --data PATH or set THINKIR_DATA_DIR")
    out = out or settings.cache_dir / "indexes" / "scifact"
    if rebuild or not (out / "manifest.json").is_file():
        typer.echo(f"building the SciFact index in {out} (about 7 minutes on 2 CPU cores, once)")
        build_index(corpus, out, embedder=settings.embedder, overwrite=True, progress=settings.progress)
    else:
        typer.echo(f"using the existing index in {out} (--rebuild to rebuild)")
    pipeline = build_pipeline(out, settings)
    for query in EXAMPLE_QUERIES:
        for mode in ("dense", "bm25", "hybrid"):
            res = pipeline.search(query, k=k, mode=mode)
            ms = sum(res.trace.timings_ms.values())
            typer.echo(f"\n[{mode}] {query}  ({ms:.0f} ms)")
            for rank, c in enumerate(res.candidates, start=1):
                title = (c.document.title if c.document else "")[:90]
                typer.echo(f"  {rank}. {c.doc_id:>9}  {c.score:.3f}  {title}")
    typer.echo(f'\nnext: thinkir search --index {out} "your question" --json ; thinkir serve --index {out}')
