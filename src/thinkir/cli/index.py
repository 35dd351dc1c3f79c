"""``thinkir index build``: a corpus file in, an index directory out."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from thinkir.cli import app
from thinkir.config import get_settings

index_app = typer.Typer(help="Build and inspect index directories.", no_args_is_help=True)
app.add_typer(index_app, name="index")


@index_app.command("build")
def build(
    corpus: Path = typer.Option(..., "--corpus", help="BEIR corpus.jsonl(.gz), JSONL with id/text, or TSV."),
    out: Path = typer.Option(..., "--out", help="Index directory to create."),
    embedder: str = typer.Option(None, "--embedder", help="Registry key, HF id or path [default: minilm]."),
    index: str = typer.Option("flat", "--index", help="flat | hnsw | ivfpq, or a FAISS factory string."),
    bm25: str = typer.Option("bm25s", "--bm25", help="bm25s | pyserini | none."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing index directory."),
    fmt: str = typer.Option("auto", "--format", help="auto | beir | jsonl | tsv."),
    skip_bad_lines: bool = typer.Option(False, "--skip-bad-lines", help="Skip and count malformed lines."),
    shard_size: int = typer.Option(4096, "--shard-size", help="Documents per resumable shard."),
    device: str = typer.Option(None, "--device", help="cpu | cuda | auto."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide progress bars."),
) -> None:
    """Embed a corpus and write an index directory (manifest, FAISS, documents, BM25).

    The build is atomic (written beside OUT, renamed into place) and resumable: run the same command
    again after an interruption and it continues from its last completed shard.
    """
    from thinkir.indexing.builder import build_index

    settings = get_settings(embedder=embedder, device=device)
    report = build_index(
        corpus,
        out,
        embedder=settings.embedder,
        index_kind=index,
        bm25=bm25,
        overwrite=overwrite,
        shard_size=shard_size,
        fmt=fmt,
        skip_bad_lines=skip_bad_lines,
        progress=not no_progress,
        device=settings.device,
        max_batch_tokens=settings.max_batch_tokens,
    )
    s = report.stats
    skipped = f"skipped: {s.empty} empty, {s.duplicates} duplicate ids, {s.bad_lines} bad lines"
    if report.resumed_shards:
        skipped += f"; resumed {report.resumed_shards} shard(s)"
    typer.echo(f"indexed {report.documents} documents into {report.out} ({skipped})")
    for err in s.first_errors:
        typer.echo(f"  skipped {err}", err=True)


@index_app.command("info")
def info(index: Path = typer.Argument(..., help="Index directory.")) -> None:
    """Print an index's manifest."""
    from thinkir.indexing.manifest import Manifest

    typer.echo(json.dumps(json.loads(Manifest.read(index).to_json()), indent=2))
