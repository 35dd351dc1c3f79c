"""``thinkir train reasoner`` (LREM data, cold start, GRPO, evaluation) and ``thinkir reason`` (keywords)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from thinkir.cli import app
from thinkir.cli.groups import train_app

STAGES = ("data", "cold_start", "grpo", "eval", "eval_dl19")


@train_app.command("reasoner")
def train_reasoner(
    config: Path = typer.Option(..., "--config", help="JSON/YAML with sections data, cold_start, grpo, eval."),
    stages: str = typer.Option("data,cold_start,grpo", "--stages", help=f"Comma-separated, from {STAGES}."),
    overrides: list[str] = typer.Option([], "--set", help="section.key=value (repeatable)."),
) -> None:
    """Train the LREM query reasoner: data construction, cold start (SFT + InfoNCE), GRPO; optionally eval
    (SciFact test + dev, routers fitted on dev) and eval_dl19 (DL19, the SciFact routers reused).

    Each stage reads its section of the config (see configs/lrem_gpu.json); chain them by pointing
    cold_start.out_dir at grpo.adapters and eval.cold_adapter/grpo_adapter.
    """
    from thinkir.errors import InputError
    from thinkir.training.lrem_data import load_config

    chosen = [s.strip() for s in stages.split(",") if s.strip()]
    unknown = set(chosen) - set(STAGES)
    if unknown:
        raise InputError(f"unknown stages {sorted(unknown)}; valid: {list(STAGES)}")
    for stage in STAGES:
        if stage not in chosen:
            continue
        if stage == "data":
            from thinkir.training.lrem_data import LremDataConfig, build_lrem_data

            stats = build_lrem_data(load_config(LremDataConfig, config, "data", overrides))
            typer.echo(json.dumps({"stage": "data", **{k: v for k, v in stats.items() if k != "config"}}))
        elif stage == "cold_start":
            from thinkir.training.cold_start import ColdStartConfig, train_cold_start

            out = train_cold_start(load_config(ColdStartConfig, config, "cold_start", overrides))
            typer.echo(json.dumps({"stage": "cold_start", "adapter": str(out)}))
        elif stage == "grpo":
            from thinkir.training.grpo import GRPOConfig, train_grpo

            out = train_grpo(load_config(GRPOConfig, config, "grpo", overrides))
            typer.echo(json.dumps({"stage": "grpo", "adapter": str(out)}))
        else:
            from dataclasses import replace

            from thinkir.retrieval.reasoning.evaluate import LremEvalConfig, evaluate_lrem

            cfg = load_config(LremEvalConfig, config, "eval", overrides)
            if stage == "eval_dl19":  # the SciFact eval's routers, reused; results beside it in OUT_dl19
                out_dl19 = f"{cfg.out_dir.rstrip('/')}_dl19"
                cfg = replace(cfg, dataset="dl19", routers_from=cfg.routers_from or cfg.out_dir, out_dir=out_dl19)
            summary = evaluate_lrem(cfg)
            typer.echo(json.dumps({"stage": stage, "test": summary["test"], "dev": summary["dev"]}))


@app.command("reason")
def reason(
    query: str = typer.Argument(..., help="The query to write a keyword reasoning for."),
    llm: str = typer.Option("smollm2-135m", "--llm", help="Registry key, HF id or path of the LREM LM."),
    adapters: str = typer.Option(
        None,
        "--adapters",
        help="Comma-separated LoRA adapter folders, merged in order [default: the packaged SmolLM2 reasoner; "
        '"" for none].',
    ),
    device: str = typer.Option(None, "--device", help="cpu | cuda | auto."),
) -> None:
    """Print the keyword reasoning (``<think> … </think>``) the LREM model writes for a query."""
    from thinkir.errors import InputError
    from thinkir.retrieval.reasoning.lm import LremLM

    if not query.strip():
        raise InputError("the query is empty")
    if adapters is None:
        from thinkir.retrieval.reasoning.reasoner import packaged_reasoner

        chosen = list(packaged_reasoner()[0]) if llm == "smollm2-135m" else []
    else:
        chosen = [a for a in adapters.split(",") if a]
    lm = LremLM.load(llm, adapters=chosen, device=device)
    typer.echo(lm.generate([query])[0][0].text)
