"""Text embedders: a base that batches by token budget, and the sentence-transformers implementation."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from thinkir.errors import InputError, UnknownModelError

logger = logging.getLogger(__name__)

TextKind = Literal["query", "document"]


def token_budget_batches(lengths: Sequence[int], max_tokens: int, max_batch: int = 512) -> list[list[int]]:
    """Group indices into batches, longest first, so that ``len(batch) * longest <= max_tokens``.

    Sorting by length keeps padding small; the budget keeps memory flat whether texts are short or long.
    A single text longer than the budget still gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        longest_if_added = max(longest, lengths[i]) if current else lengths[i]
        if current and (len(current) + 1) * longest_if_added > max_tokens or len(current) >= max_batch:
            batches.append(current)
            current, longest_if_added = [], lengths[i]
        current.append(i)
        longest = longest_if_added
    if current:
        batches.append(current)
    return batches


class Embedder(ABC):
    """Maps texts to L2-normalised float32 vectors. Subclasses fill :meth:`_tokenize` and :meth:`_embed`.

    The public :meth:`encode` validates input, tokenises once, batches by token budget (longest first),
    embeds each batch under ``torch.inference_mode`` and restores the input order.
    """

    #: a stable identifier recorded in index manifests (hub id or path)
    model_id: str = ""
    revision: str = ""
    dimension: int = 0
    max_batch_tokens: int = 16384

    def encode(
        self,
        texts: Sequence[str],
        kind: TextKind = "document",
        progress: bool = False,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed ``texts``. Returns ``[len(texts), dimension]`` float32, rows of unit norm."""
        if isinstance(texts, str):
            raise InputError("encode() takes a list of texts, not a single string")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        import torch

        prepared = [self.prepare(t, kind) for t in texts]
        features = self._tokenize(prepared)
        lengths = [len(ids) for ids in features["input_ids"]]
        batches = token_budget_batches(lengths, self.max_batch_tokens)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc=f"embed {kind}s", unit="text")
        with torch.inference_mode():
            for batch in batches:
                vecs = self._embed({key: [vals[i] for i in batch] for key, vals in features.items()})
                out[batch] = vecs
                if bar is not None:
                    bar.update(len(batch))
                if on_batch is not None:
                    on_batch(len(batch))
        if bar is not None:
            bar.close()
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, np.maximum(norms, 1e-12), out=out)
        return out

    def encode_queries(self, texts: Sequence[str], **kw: Any) -> np.ndarray:
        return self.encode(texts, kind="query", **kw)

    def encode_documents(self, texts: Sequence[str], **kw: Any) -> np.ndarray:
        return self.encode(texts, kind="document", **kw)

    def prepare(self, text: str, kind: TextKind) -> str:
        """Hook for instruction prefixes (e5/bge style); identity by default."""
        return text

    @abstractmethod
    def _tokenize(self, texts: list[str]) -> dict[str, list[list[int]]]:
        """Tokenise without padding: a dict of per-text id lists (``input_ids`` first)."""

    @abstractmethod
    def _embed(self, features: dict[str, list[list[int]]]) -> np.ndarray:
        """Embed one batch of tokenised texts; returns ``[batch, dimension]`` float32."""


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model (registry key, hub id or local path).

    Args:
        name: model name (``minilm`` is the offline default).
        device: ``cpu``, ``cuda``…; picked automatically when None.
        precision: ``fp32``, or ``int8``: the model exported to ONNX with int8 weights (dynamic,
            per-channel) and run by onnxruntime on CPU (the ``quant`` extra). torch's own dynamic
            quantisation is deprecated in torch 2.13 and loses more accuracy (cosine to fp32 ~0.95
            on MiniLM against ~0.993 here), so it is not used.
        max_batch_tokens: padded-token budget of one batch.
    """

    def __init__(
        self,
        name: str = "minilm",
        device: str | None = None,
        precision: str = "fp32",
        max_batch_tokens: int = 16384,
        max_seq_length: int | None = None,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        from thinkir.device import pick_device
        from thinkir.models import model_id, resolve

        path = resolve(name, "embedder")
        self.device = pick_device(device)
        try:
            self.model = SentenceTransformer(path, device=self.device)
        except OSError as err:
            raise UnknownModelError(f"cannot load embedder {name!r} from {path!r}: {err}") from err
        if max_seq_length:
            self.model.max_seq_length = max_seq_length
        self.model.eval()
        if precision not in ("fp32", "int8"):
            raise InputError(f"precision must be fp32 or int8, not {precision!r}")
        self.precision = precision
        self.name = name
        self.model_id = model_id(name)
        self.revision = _revision_of(path)
        self._onnx: Any = None
        if precision == "int8":
            self.device = "cpu"
            self._onnx = _OnnxInt8(self.model, self.model_id, self.revision)
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise UnknownModelError(f"embedder {name!r} does not report an embedding dimension")
        self.dimension = int(dim)
        self.max_batch_tokens = max_batch_tokens
        self.tokenizer = self.model.tokenizer
        self.max_seq_length = int(self.model.max_seq_length or 512)

    def _tokenize(self, texts: list[str]) -> dict[str, list[list[int]]]:
        enc = self.tokenizer(texts, truncation=True, max_length=self.max_seq_length, padding=False)
        return {k: enc[k] for k in enc if k in ("input_ids", "attention_mask", "token_type_ids")}

    def _embed(self, features: dict[str, list[list[int]]]) -> np.ndarray:
        if self._onnx is not None:
            return self._onnx(self.tokenizer.pad(features, return_tensors="np"))  # type: ignore[no-any-return]
        padded = self.tokenizer.pad(features, return_tensors="pt")
        padded = {k: v.to(self.device) for k, v in padded.items()}
        emb = self.model(padded)["sentence_embedding"]
        return emb.float().cpu().numpy()


class _OnnxInt8:
    """A sentence-transformers model as an int8 ONNX graph run by onnxruntime (CPU).

    The whole module chain (transformer, pooling, normalisation) is exported once with the TorchScript
    exporter, its weights quantised to int8 per output channel (activations quantised dynamically at
    run time), and the result cached under ``$THINKIR_CACHE_DIR/onnx`` keyed by the weights'
    fingerprint, so later loads take a second. Export is guarded by a file lock and renamed into
    place, so concurrent processes export once.
    """

    def __init__(self, model: Any, model_id: str, revision: str) -> None:
        from thinkir._optional import require

        ort = require("onnxruntime", "quant")
        require("onnx", "quant")
        sample = model.tokenizer(["a b", "c"], padding=True, return_tensors="pt")
        self.input_names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample]
        path = self._quantized_path(model, model_id, revision, sample)
        import torch

        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, padded: Any) -> np.ndarray:
        feeds = {k: np.asarray(padded[k], dtype=np.int64) for k in self.input_names}
        return np.asarray(self.session.run(None, feeds)[0], dtype=np.float32)

    def _quantized_path(self, model: Any, model_id: str, revision: str, sample: Any) -> Any:
        import hashlib
        import os
        import shutil
        import tempfile
        from pathlib import Path

        from filelock import FileLock

        root = Path(os.environ.get("THINKIR_CACHE_DIR", Path.home() / ".cache" / "thinkir")) / "onnx"
        if revision:
            key = hashlib.sha256(f"{model_id}:{revision}:{model.max_seq_length}".encode()).hexdigest()[:16]
        else:  # a hub id without local files: no fingerprint to trust, so no cache
            root, key = Path(tempfile.mkdtemp(prefix="thinkir-onnx-")), "model"
        final = root / f"{key}-int8.onnx"
        if final.is_file():
            return final
        root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(final) + ".lock"):
            if final.is_file():
                return final
            work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
            try:
                fp32, int8 = work / "fp32.onnx", work / "int8.onnx"
                self._export(model, sample, fp32)
                from onnxruntime.quantization import QuantType, quantize_dynamic

                quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
                os.replace(int8, final)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        logger.info("exported an int8 ONNX copy of %s to %s", model_id, final)
        return final

    def _export(self, model: Any, sample: Any, out: Any) -> None:
        import warnings

        import torch

        names = self.input_names

        class _Wrapped(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = model

            def forward(self, *inputs: Any) -> Any:
                return self.inner(dict(zip(names, inputs, strict=True)))["sentence_embedding"]

        axes = {k: {0: "batch", 1: "sequence"} for k in names} | {"embedding": {0: "batch"}}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings and the exporter's deprecation notes
            torch.onnx.export(
                _Wrapped().cpu().eval(),
                tuple(sample[k] for k in names),
                str(out),
                input_names=names,
                output_names=["embedding"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )


def _revision_of(path: str) -> str:
    """Content fingerprint of local weights (size + mtime-free hash of the config), else the hub id."""
    import hashlib
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        return ""
    h = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json"):
        f = p / name
        if f.is_file():
            h.update(f.read_bytes())
    weights = sorted(p.glob("*.safetensors")) + sorted(p.glob("*.bin"))
    for w in weights:
        h.update(f"{w.name}:{w.stat().st_size}".encode())
    return h.hexdigest()[:16]


EMBEDDER_TYPES: dict[str, type[Embedder]] = {"sentence-transformers": SentenceTransformerEmbedder}
# types that register themselves in EMBEDDER_TYPES when their module is imported (kept lazy: torch etc.)
_TYPE_MODULES = {"lrem": "thinkir.retrieval.reasoning.embedder"}


def load_embedder(name: str, device: str | None = None, **kwargs: Any) -> Embedder:
    """Build the embedder for ``name``; ``type:name`` picks a non-default type (e.g. ``lrem:…``)."""
    kind, _, rest = name.partition(":")
    if rest and kind in _TYPE_MODULES and kind not in EMBEDDER_TYPES:
        import importlib

        importlib.import_module(_TYPE_MODULES[kind])
    if rest and kind in EMBEDDER_TYPES:
        return EMBEDDER_TYPES[kind](rest, device=device, **kwargs)  # type: ignore[call-arg]
    return SentenceTransformerEmbedder(name, device=device, **kwargs)
