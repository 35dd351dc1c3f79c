"""``thinkir train classifier``: split the labelled descriptions, fine-tune the retriever, write a model
directory that :func:`thinkir.classify.load_classifier` loads offline.

Model directory layout::

    classifier.json     ClassifierConfig (embedder = "retriever", taxonomy = "taxonomy.csv")
    taxonomy.csv        the taxonomy in the generic code,parent,title,description form
    retriever/          the fine-tuned sentence-transformers model
    label_index/        label vectors (npy) + codes (json)
    splits/             train.csv, dev.csv, tune.csv (code,description) cut by description with the seed
    train_config.json   the training configuration as run
    train_summary.json  steps, loss, time, split sizes
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from thinkir.classify.config import ClassifierConfig, ClassifierTrainConfig
from thinkir.classify.taxonomy import load_examples, load_taxonomy, split_examples, write_examples

logger = logging.getLogger(__name__)


def run_training(config: ClassifierTrainConfig) -> dict[str, Any]:
    """Run one training configuration; the model directory appears only when it is complete."""
    from thinkir.classify.retriever import LabelRetriever, train_retriever
    from thinkir.retrieval.embedders import SentenceTransformerEmbedder

    out = Path(config.output_dir)
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "splits").mkdir(parents=True)
    taxonomy = load_taxonomy(config.taxonomy)
    examples = load_examples(config.train_file, taxonomy)
    train, dev, tune = split_examples(examples, config.dev_fraction, config.seed, config.tune_fraction)
    for name, part in (("train", train), ("dev", dev), ("tune", tune)):
        write_examples(part, tmp / "splits" / f"{name}.csv")
    taxonomy.to_csv(tmp / "taxonomy.csv")
    logger.info("training on %d pairs (dev %d, tune %d)", len(train), len(dev), len(tune))
    summary = train_retriever(config, train, taxonomy, tmp / "retriever")
    shutil.rmtree(tmp.parent / (tmp.name + "/retriever.checkpoints"), ignore_errors=True)
    shutil.rmtree(tmp / "retriever.checkpoints", ignore_errors=True)
    classifier = ClassifierConfig.from_dict(
        {
            **config.classifier,
            "taxonomy": "taxonomy.csv",
            "embedder": "retriever",
            "label_text": config.label_text,
            "label_max_chars": config.label_max_chars,
            "max_seq_length": config.max_seq_length,
        }
    )
    (tmp / "classifier.json").write_text(json.dumps(classifier.to_dict(), indent=2))
    embedder = SentenceTransformerEmbedder(str(tmp / "retriever"), device="cpu", max_seq_length=config.max_seq_length)
    LabelRetriever(embedder, load_taxonomy(tmp / "taxonomy.csv"), config.label_text, config.label_max_chars).save(
        tmp / "label_index"
    )
    summary.update({"train": len(train), "dev": len(dev), "tune": len(tune), "taxonomy": taxonomy.name})
    (tmp / "train_config.json").write_text(json.dumps(config.to_dict(), indent=2))
    (tmp / "train_summary.json").write_text(json.dumps(summary, indent=2))
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    summary["output_dir"] = str(out)
    return summary
