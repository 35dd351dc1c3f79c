"""The retriever stage: label texts embedded once into a FAISS index, descriptions searched against it.

Fine-tuning (:func:`train_retriever`) is the in-batch contrastive step of GREEN: a Sentence-BERT model
trained with MultipleNegativesRankingLoss on ``(description, label text of its code)`` pairs, so that
each description is pulled towards its own label and away from the other labels in the batch.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from thinkir.classify.taxonomy import Example, LabelText, Taxonomy
from thinkir.errors import InputError

if TYPE_CHECKING:
    from thinkir.classify.config import ClassifierTrainConfig
    from thinkir.retrieval.embedders import SentenceTransformerEmbedder

logger = logging.getLogger(__name__)

LABEL_INDEX_DIR = "label_index"


class LabelRetriever:
    """Flat retrieval of leaf codes by cosine similarity between a description and label texts.

    Args:
        embedder: the (fine-tuned) sentence embedder.
        taxonomy: codes and label texts.
        label_text: which text stands for a code.
        label_max_chars: cut label descriptions to this length (0: whole).
        codes: the codes to index; leaves by default (the classifier aggregates them upwards).
    """

    def __init__(
        self,
        embedder: SentenceTransformerEmbedder,
        taxonomy: Taxonomy,
        label_text: LabelText | str = LabelText.TITLE_DESCRIPTION,
        label_max_chars: int = 300,
        codes: Sequence[str] | None = None,
        vectors: np.ndarray | None = None,
    ) -> None:
        from thinkir.retrieval.vector_index import VectorIndex

        self.embedder = embedder
        self.taxonomy = taxonomy
        self.label_text = LabelText(label_text)
        self.label_max_chars = label_max_chars
        self.codes = list(codes if codes is not None else taxonomy.leaves())
        if vectors is None:
            texts = [taxonomy.label_text(c, self.label_text, label_max_chars) for c in self.codes]
            vectors = embedder.encode_documents(texts)
        if len(vectors) != len(self.codes):
            raise InputError(f"{len(vectors)} label vectors for {len(self.codes)} codes")
        self.index = VectorIndex.create("flat", embedder.dimension, len(self.codes))
        self.index.add(vectors)
        self._vectors = vectors

    def search(self, texts: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
        """Top-``k`` codes for each text, best first, as ``(code, cosine)``."""
        for t in texts:
            if not t or not t.strip():
                raise InputError("the description is empty")
        queries = self.embedder.encode_queries(list(texts))
        scores, ids = self.index.search(queries, k)
        return [
            [(self.codes[i], float(s)) for s, i in zip(row_s, row_i, strict=True) if i >= 0]
            for row_s, row_i in zip(scores, ids, strict=True)
        ]

    def save(self, folder: Path) -> None:
        """Label vectors and their codes (npy + json, no pickle), tagged with the embedder revision."""
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "vectors.npy", self._vectors)
        meta = {
            "codes": self.codes,
            "label_text": self.label_text.value,
            "label_max_chars": self.label_max_chars,
            "embedder_revision": self.embedder.revision,
            "dimension": self.embedder.dimension,
        }
        (folder / "labels.json").write_text(json.dumps(meta))

    @classmethod
    def load_or_build(
        cls,
        folder: Path | None,
        embedder: SentenceTransformerEmbedder,
        taxonomy: Taxonomy,
        label_text: LabelText | str,
        label_max_chars: int,
    ) -> LabelRetriever:
        """Reuse saved label vectors when they match this embedder and label settings, else embed."""
        if folder is not None and (folder / "labels.json").is_file():
            meta = json.loads((folder / "labels.json").read_text())
            if (
                meta.get("embedder_revision") == embedder.revision
                and meta.get("label_text") == LabelText(label_text).value
                and meta.get("label_max_chars") == label_max_chars
                and all(c in taxonomy for c in meta["codes"])
            ):
                vectors = np.load(folder / "vectors.npy")
                return cls(embedder, taxonomy, label_text, label_max_chars, meta["codes"], vectors)
            logger.info("label vectors in %s do not match the configuration; re-embedding", folder)
        retriever = cls(embedder, taxonomy, label_text, label_max_chars)
        if folder is not None:
            try:
                retriever.save(folder)
            except OSError as err:  # a read-only model directory still works, just slower to load
                logger.warning("cannot cache label vectors in %s: %s", folder, err)
        return retriever


def train_pairs(
    examples: Sequence[Example], taxonomy: Taxonomy, label_text: LabelText | str, label_max_chars: int
) -> tuple[list[str], list[str]]:
    """``(anchors, positives)``: each description and the label text of its code."""
    cache: dict[str, str] = {}
    anchors, positives = [], []
    for e in examples:
        if e.code not in cache:
            cache[e.code] = taxonomy.label_text(e.code, label_text, label_max_chars)
        anchors.append(e.text)
        positives.append(cache[e.code])
    return anchors, positives


def train_retriever(
    config: ClassifierTrainConfig, train: Sequence[Example], taxonomy: Taxonomy, out_dir: Path
) -> dict[str, Any]:
    """Fine-tune ``config.base_model`` with MultipleNegativesRankingLoss; save it to ``out_dir``.

    Batches never hold the same label text twice (``NO_DUPLICATES``), so no in-batch negative is
    secretly a positive. Returns a summary (steps, loss, seconds).
    """
    from thinkir._optional import require

    require("datasets", "train")
    require("accelerate", "train")
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import (
        BatchSamplers,
        SentenceTransformerTrainingArguments,
    )

    from thinkir.models import resolve

    if not train:
        raise InputError("no training examples")
    anchors, positives = train_pairs(train, taxonomy, config.label_text, config.label_max_chars)
    dataset = Dataset.from_dict({"anchor": anchors, "positive": positives})
    model = SentenceTransformer(resolve(config.base_model, "embedder"), device="cpu")
    model.max_seq_length = config.max_seq_length
    loss = MultipleNegativesRankingLoss(model)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out_dir.parent / (out_dir.name + ".checkpoints")),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_ratio=config.warmup_ratio,
        seed=config.seed,
        data_seed=config.seed,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        logging_steps=config.logging_steps,
        save_strategy="no",
        report_to="none",
        dataloader_drop_last=True,
        use_cpu=True,
    )
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss)
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
    model.save(str(out_dir))
    return {
        "steps": int(result.global_step),
        "train_loss": float(result.training_loss),
        "seconds": round(seconds, 1),
        "pairs": len(anchors),
    }
