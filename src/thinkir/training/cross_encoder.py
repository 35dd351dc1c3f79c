"""Fine-tune a cross-encoder teacher for DeAR stage 1 (``thinkir train cross-encoder``).

The offline default starts from the MiniLM bi-encoder's transformer (all-MiniLM-L6-v2) with a fresh
one-logit head and trains it with sentence-transformers' ``CrossEncoderTrainer`` on the stage-1
training groups (MS MARCO triples, the listwise reasoning rows, SciFact train with BM25-mined
negatives: :func:`thinkir.training.pointwise.build_groups`), with the same query-hash dev split as
stage 1, so the teachers are compared on queries neither saw. Loss: softmax cross-entropy of the
positive over its group's hard negatives plus in-batch negatives (``MultipleNegativesRankingLoss``),
the cross-encoder form of the CE term of DeAR's stage 1.

After training, the bi-encoder and the fine-tuned cross-encoder are scored on the dev groups (group
accuracy and MRR of the positive) and the result is written to ``output_dir/teacher_comparison.json``;
pick the better one as ``teacher`` of ``thinkir train reranker-pointwise``.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from thinkir.training.pointwise import StageOneData

logger = logging.getLogger(__name__)


@dataclass
class CrossEncoderTrainConfig(StageOneData):
    """Arguments of a cross-encoder teacher run (JSON/YAML keys of the same names; the data keys and dev
    split are stage 1's, :class:`~thinkir.training.pointwise.StageOneData`; only the train split is trained on)."""

    output_dir: str = "runs/teacher-ce"
    init_model: str = "minilm"  # registry key, hub id or path; a model without a ranking head gets a fresh one
    compare_with: str | None = "minilm"  # the bi-encoder teacher it is compared with on dev (None: skip)
    # training
    max_length: int = 256
    batch_size: int = 16
    in_batch_negatives: int = 1  # extra negatives per query drawn from the other queries of the batch
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    lr: float = 3e-5
    warmup_ratio: float = 0.1
    scale: int = 10  # logit scale of the softmax loss
    bf16: bool = False  # bf16 mixed precision (CUDA, or CPUs with AVX512-BF16 / AMX)
    device: str | None = None
    log_every: int = 20


def _pairs_dataset(groups: list[Any]) -> Any:
    from datasets import Dataset

    n = min(len(g.docs) for g in groups) - 1
    cols: dict[str, list[str]] = {"query": [g.query for g in groups], "positive": [g.docs[0].full_text for g in groups]}
    for j in range(n):
        cols[f"negative_{j + 1}"] = [g.docs[1 + j].full_text for g in groups]
    return Dataset.from_dict(cols)


def compare_teachers(names: dict[str, str], groups: list[Any], device: str | None) -> dict[str, dict[str, float]]:
    """Group accuracy / MRR of the positive for each teacher (label -> name or path) on ``groups``."""
    from thinkir.training.pointwise import group_accuracy
    from thinkir.training.teacher import load_teacher

    out = {}
    for label, name in names.items():
        teacher = load_teacher(name, device=device)
        t0 = time.perf_counter()
        scores = teacher.score_many([g.query for g in groups], [g.docs for g in groups])
        out[label] = {**group_accuracy(scores), "seconds": round(time.perf_counter() - t0, 2)}
        logger.info("dev %s: %s", label, out[label])
    return out


def train(cfg: CrossEncoderTrainConfig) -> Path:
    """Train, save the cross-encoder under ``output_dir/model``, compare it with ``compare_with`` on dev."""
    import torch
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import MultipleNegativesRankingLoss

    from thinkir.device import pick_device
    from thinkir.errors import InputError
    from thinkir.models import REGISTRY, resolve
    from thinkir.training.data_rerank import split_dev
    from thinkir.training.pointwise import build_groups

    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))
    groups = [g for g in build_groups(cfg) if len(g.docs) == cfg.n_negatives + 1]
    train_groups, dev_groups = split_dev(groups, cfg.dev_fraction)
    if not train_groups:
        raise InputError("no training groups: check triples / reasoning_dirs / scifact_dir")
    logger.info("cross-encoder groups: %d train, %d dev", len(train_groups), len(dev_groups))

    device = pick_device(cfg.device)
    spec = REGISTRY.get(cfg.init_model)
    model = CrossEncoder(
        resolve(cfg.init_model, spec.kind if spec else "cross-encoder"),
        num_labels=1,
        max_length=cfg.max_length,
        device=device,
    )
    loss = MultipleNegativesRankingLoss(model, num_negatives=cfg.in_batch_negatives, scale=cfg.scale)
    args = CrossEncoderTrainingArguments(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.lr,
        warmup_ratio=cfg.warmup_ratio,
        logging_steps=cfg.log_every,
        save_strategy="no",
        seed=cfg.seed,
        report_to=[],
        use_cpu=not device.startswith("cuda"),
        bf16=cfg.bf16,
        dataloader_drop_last=True,
    )
    t0 = time.perf_counter()
    CrossEncoderTrainer(model=model, args=args, train_dataset=_pairs_dataset(train_groups), loss=loss).train()
    train_s = time.perf_counter() - t0
    model_dir = out / "model"
    model.save_pretrained(str(model_dir))
    report: dict[str, Any] = {
        "train_groups": len(train_groups),
        "dev_groups": len(dev_groups),
        "train_seconds": round(train_s, 1),
    }
    if dev_groups:
        names = {"cross-encoder (fine-tuned)": str(model_dir)}
        if cfg.compare_with:
            names = {f"bi-encoder ({cfg.compare_with})": cfg.compare_with, **names}
        report["dev"] = compare_teachers(names, dev_groups, device)
    (out / "teacher_comparison.json").write_text(json.dumps(report, indent=2))
    logger.info("cross-encoder saved to %s: %s", model_dir, report)
    return model_dir


__all__ = ["CrossEncoderTrainConfig", "compare_teachers", "train"]
