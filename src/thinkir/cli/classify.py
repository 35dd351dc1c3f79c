"""``thinkir classify``, ``thinkir train classifier`` and ``thinkir eval classify`` (hierarchical codes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from thinkir.cli import app
from thinkir.cli.groups import eval_app, train_app
from thinkir.errors import InputError

MODEL_HELP = "Model directory from `thinkir train classifier` [default: zero-shot MiniLM over NAICS in the data dir]."
WEIGHTS_HELP = "Vote weights, e.g. retriever=1,lexical=0.3,llm=0.5 (0 or absent: voter off)."


def parse_weights(text: str | None) -> dict[str, float] | None:
    """``"retriever=1,llm=0.5"`` → ``{"retriever": 1.0, "llm": 0.5}``; None stays None."""
    if not text:
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise InputError(f"bad --weights item {part!r}: use name=weight, e.g. retriever=1,lexical=0.3")
        try:
            out[name.strip()] = float(value)
        except ValueError as err:
            raise InputError(f"bad weight {value!r} for {name.strip()!r}") from err
    return out


def _overrides(weights: str | None, beam: int | None, retrieve_k: int | None, llm: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    parsed = parse_weights(weights)
    if parsed is not None:
        out["weights"] = parsed
    if beam is not None:
        out["beam_width"] = beam
    if retrieve_k is not None:
        out["retrieve_k"] = retrieve_k
    if llm is not None:
        out["llm"] = llm
    return out


def _load(model: Path | None, overrides: dict[str, Any], device: str | None):  # type: ignore[no-untyped-def]
    from thinkir.classify import load_classifier
    from thinkir.config import get_settings

    source: Any = model if model is not None else get_settings(device=device)
    return load_classifier(source, overrides=overrides or None, device=device)


@app.command("classify")
def classify(
    text: str = typer.Argument(..., help="The business description to classify."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    model: Path = typer.Option(None, "--model", help=MODEL_HELP),
    top_k: int = typer.Option(None, "--top-k", min=1, max=1000, help="Codes returned [default: model config]."),
    weights: str = typer.Option(None, "--weights", help=WEIGHTS_HELP),
    beam: int = typer.Option(None, "--beam", min=1, help="Beam width [default: from the model config]."),
    retrieve_k: int = typer.Option(None, "--retrieve-k", min=1, help="Retriever support size (top-K leaves)."),
    llm: str = typer.Option(None, "--llm", help="LLM voter model: registry key, HF id or path."),
    flat: bool = typer.Option(False, "--flat", help="Flat retrieval only (no hierarchy, no voters)."),
    decisions: bool = typer.Option(False, "--decisions", help="With --json: include every level's votes."),
    device: str = typer.Option(None, "--device", help="cpu | cuda | auto."),
) -> None:
    """Classify a description into the taxonomy: ranked codes with path and per-level confidence."""
    if not text.strip():
        raise InputError("the description is empty")
    classifier = _load(model, _overrides(weights, beam, retrieve_k, llm), device)
    result = classifier.flat([text], top_k)[0] if flat else classifier.classify(text, top_k=top_k)
    if as_json:
        typer.echo(json.dumps(result.to_dict(with_decisions=decisions), ensure_ascii=False))
        return
    for rank, p in enumerate(result.predictions, start=1):
        conf = " ".join(f"{c:.2f}" for c in p.confidences)
        typer.echo(f"{rank:>3}. {p.code}  {p.score:.4f}  {p.title}  [{' > '.join(p.path)}]  {conf}")
    typer.echo(f"llm calls: {result.llm_calls}")


@train_app.command("classifier")
def train_classifier(
    config: Path = typer.Option(..., "--config", help="Training config (.json or .yaml): ClassifierTrainConfig."),
    output_dir: Path = typer.Option(None, "--output-dir", help="Override the config's output_dir."),
    max_steps: int = typer.Option(None, "--max-steps", help="Override the config's max_steps."),
) -> None:
    """Fine-tune the taxonomy retriever (MultipleNegativesRankingLoss) and write a model directory."""
    from thinkir.classify.config import ClassifierTrainConfig
    from thinkir.classify.training import run_training

    cfg = ClassifierTrainConfig.from_file(config)
    if output_dir is not None:
        cfg.output_dir = str(output_dir)
    if max_steps is not None:
        cfg.max_steps = max_steps
    summary = run_training(cfg)
    typer.echo(json.dumps(summary))


@eval_app.command("classify")
def eval_classify(
    data: Path = typer.Option(..., "--data", help="CSV of labelled descriptions (code,description or NAICS index)."),
    out: Path = typer.Option(None, "--out", help="Write per-item results (JSON)."),
    model: Path = typer.Option(None, "--model", help=MODEL_HELP),
    pipeline: str = typer.Option("group", "--pipeline", help="group (hierarchical voting) | flat (retriever)."),
    weights: str = typer.Option(None, "--weights", help=WEIGHTS_HELP),
    beam: int = typer.Option(None, "--beam", min=1, help="Beam width."),
    retrieve_k: int = typer.Option(None, "--retrieve-k", min=1, help="Retriever support size."),
    llm: str = typer.Option(None, "--llm", help="LLM voter model."),
    limit: int = typer.Option(None, "--limit", min=1, help="Evaluate the first N items after a seeded shuffle."),
    seed: int = typer.Option(0, "--seed", help="Shuffle seed for --limit."),
    dataset: str = typer.Option(None, "--dataset", help="Dataset name in the report [default: file stem]."),
    device: str = typer.Option(None, "--device", help="cpu | cuda | auto."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide progress bars."),
) -> None:
    """Top-1, top-10 and per-level accuracy, LLM calls and latency per item; ends with the JSON line."""
    import random

    from thinkir.classify.evaluate import evaluate_classifier, pipeline_name
    from thinkir.classify.taxonomy import load_examples
    from thinkir.evals.report import latency_summary, print_contract, results_payload, write_json

    classifier = _load(model, _overrides(weights, beam, retrieve_k, llm), device)
    examples = load_examples(data, classifier.taxonomy)
    if limit is not None and limit < len(examples):
        order = list(range(len(examples)))
        random.Random(seed).shuffle(order)
        examples = [examples[i] for i in sorted(order[:limit])]
    result = evaluate_classifier(classifier, examples, pipeline=pipeline, progress=not no_progress)
    name = pipeline_name(classifier, pipeline)
    lat = latency_summary(list(result.latencies_ms.values()))
    typer.echo(f"classify: {name} on {data} ({len(examples)} items)")
    for key, value in result.metrics.items():
        typer.echo(f"  {key:<20} {value:.4f}")
    typer.echo(f"latency per item: p50 {lat['p50']} ms, p99 {lat['p99']} ms")
    args = ("classify", dataset or data.stem, name, len(examples), result.metrics, lat)
    if out is not None:
        from thinkir.evals.report import contract_record

        write_json(out, results_payload(contract_record(*args), result.per_item, result.latencies_ms))
        typer.echo(f"wrote per-item results to {out}")
    print_contract(*args)
