"""Teachers for stage-1 distillation: any model by name, scores cached on disk.

Kinds: ``bi-encoder`` (sentence-transformers embedder, cosine of normalised embeddings; the offline
default is ``minilm``), ``cross-encoder`` (sentence-transformers ``CrossEncoder``, raw logits) and
``seq-cls`` (a transformers sequence-classification model, logit 0, e.g. a RankLLaMA teacher).
:class:`TeacherCache` stores scores by a hash of (teacher, query, document), so a teacher runs once
per pair however many epochs, runs or evaluations read it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from thinkir.errors import InputError
from thinkir.types import Document

logger = logging.getLogger(__name__)

TEACHER_KINDS = ("auto", "bi-encoder", "cross-encoder", "seq-cls")


class Teacher:
    """Scores (query, document) pairs. Build with :func:`load_teacher`."""

    def __init__(
        self,
        name: str,
        kind: str,
        model: Any,
        tokenizer: Any = None,
        device: str = "cpu",
        batch_size: int = 64,
        max_length: int = 256,
    ) -> None:
        self.name, self.kind, self.model, self.tokenizer = name, kind, model, tokenizer
        self.device, self.batch_size, self.max_length = device, batch_size, max_length

    def score(self, query: str, documents: Sequence[Document]) -> list[float]:
        return self.score_many([query], [documents])[0]

    def score_many(self, queries: Sequence[str], documents: Sequence[Sequence[Document]]) -> list[list[float]]:
        """Scores per query, batched over all pairs."""
        pairs = [(q, d.full_text) for q, docs in zip(queries, documents, strict=True) for d in docs]
        flat = self._score_pairs(pairs)
        out, i = [], 0
        for docs in documents:
            out.append(flat[i : i + len(docs)])
            i += len(docs)
        return out

    def _score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        if self.kind == "bi-encoder":
            import numpy as np

            texts_q = sorted({q for q, _ in pairs})
            texts_d = sorted({d for _, d in pairs})
            enc = dict(
                zip(
                    texts_q,
                    self.model.encode(
                        texts_q, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
                    ),
                    strict=True,
                )
            )
            dec = dict(
                zip(
                    texts_d,
                    self.model.encode(
                        texts_d, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
                    ),
                    strict=True,
                )
            )
            return [float(np.dot(enc[q], dec[d])) for q, d in pairs]
        if self.kind == "cross-encoder":
            scores = self.model.predict(list(pairs), batch_size=self.batch_size, show_progress_bar=False)
            return [float(s) for s in scores]
        import torch

        out: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(pairs), self.batch_size):
                chunk = pairs[start : start + self.batch_size]
                enc = self.tokenizer(
                    [q for q, _ in chunk],
                    [d for _, d in chunk],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                out.extend(self.model(**enc).logits[:, 0].float().tolist())
        return out


def _detect_kind(path: str) -> str:
    p = Path(path)
    st_config = p / "config_sentence_transformers.json"
    if st_config.is_file() and json.loads(st_config.read_text()).get("model_type") == "CrossEncoder":
        return "cross-encoder"  # sentence-transformers >= 5 saves cross-encoders with a modules.json too
    if (p / "modules.json").is_file():
        return "bi-encoder"
    cfg = p / "config.json"
    if cfg.is_file():
        archs = json.loads(cfg.read_text()).get("architectures") or []
        if any(a.endswith("ForSequenceClassification") for a in archs):
            return "cross-encoder"
    raise InputError(f"cannot tell the kind of teacher {path!r}; set teacher_kind to one of {TEACHER_KINDS[1:]}")


def load_teacher(name: str, kind: str = "auto", device: str | None = None, batch_size: int = 64) -> Teacher:
    """A teacher by registry key (``minilm``), hub id or path."""
    from thinkir.device import pick_device
    from thinkir.models import REGISTRY, resolve

    if kind not in TEACHER_KINDS:
        raise InputError(f"unknown teacher kind {kind!r}; valid: {list(TEACHER_KINDS)}")
    dev = pick_device(device)
    spec = REGISTRY.get(name)
    path = resolve(name, spec.kind if spec else "cross-encoder")  # also expands a compact model copy
    if kind == "auto":
        kind = "bi-encoder" if spec and spec.kind == "embedder" else _detect_kind(path)
    if kind == "bi-encoder":
        from sentence_transformers import SentenceTransformer

        return Teacher(name, kind, SentenceTransformer(path, device=dev), device=dev, batch_size=batch_size)
    if kind == "cross-encoder":
        import torch
        from sentence_transformers import CrossEncoder

        model = CrossEncoder(path, device=dev, activation_fn=torch.nn.Identity())
        return Teacher(name, kind, model, device=dev, batch_size=batch_size)
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1).to(dev).eval()
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    return Teacher(name, kind, model, tok, device=dev, batch_size=batch_size)


def pair_key(teacher: str, query: str, doc: Document) -> str:
    return hashlib.sha1(f"{teacher}\x1f{query}\x1f{doc.full_text}".encode()).hexdigest()[:20]


class TeacherCache:
    """``{pair key: score}`` in one JSON file per teacher; missing pairs are scored and saved once.

    The teacher model is loaded only when some pair is missing, so a warm cache needs no model.
    """

    def __init__(
        self, folder: Path, teacher: str, kind: str = "auto", device: str | None = None, path: str | None = None
    ) -> None:
        """``teacher`` names the scores (the cache key); ``path`` is where to load its weights when they
        are not where ``teacher`` resolves (e.g. a copied MiniLM folder on a GPU machine)."""
        self.teacher_name, self.kind, self.device, self.load_path = teacher, kind, device, path
        slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in teacher)
        self.path = Path(folder) / f"teacher-{slug}.json"
        self.scores: dict[str, float] = json.loads(self.path.read_text()) if self.path.is_file() else {}
        self._teacher: Teacher | None = None

    def lookup(
        self, queries: Sequence[str], documents: Sequence[Sequence[Document]], progress: bool = False, chunk: int = 256
    ) -> list[list[float]]:
        """Teacher scores per query (computed for missing pairs only, then saved)."""
        todo = [
            i
            for i, (q, docs) in enumerate(zip(queries, documents, strict=True))
            if any(pair_key(self.teacher_name, q, d) not in self.scores for d in docs)
        ]
        if todo:
            if self._teacher is None:
                self._teacher = load_teacher(self.load_path or self.teacher_name, self.kind, self.device)
            from tqdm.auto import tqdm

            for start in tqdm(range(0, len(todo), chunk), disable=not progress, desc="teacher"):
                idx = todo[start : start + chunk]
                got = self._teacher.score_many([queries[i] for i in idx], [documents[i] for i in idx])
                for i, vals in zip(idx, got, strict=True):
                    for d, v in zip(documents[i], vals, strict=True):
                        self.scores[pair_key(self.teacher_name, queries[i], d)] = v
            self.save()
        return [
            [self.scores[pair_key(self.teacher_name, q, d)] for d in docs]
            for q, docs in zip(queries, documents, strict=True)
        ]

    def save(self) -> None:
        """Write the scores atomically, merged with what other processes saved meanwhile (file lock)."""
        from filelock import FileLock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock"):
            if self.path.is_file():
                on_disk = json.loads(self.path.read_text())
                self.scores = {**on_disk, **self.scores}
            tmp = self.path.with_suffix(f".tmp-{os.getpid()}")
            tmp.write_text(json.dumps(self.scores))
            tmp.replace(self.path)


__all__ = ["TEACHER_KINDS", "Teacher", "TeacherCache", "load_teacher", "pair_key"]
