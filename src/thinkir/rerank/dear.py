"""DeAR: one base causal LM carrying two named LoRA adapters, switched per stage.

* :class:`AdapterHost` owns the base model, its tokenizer, the peft wrapper and the stage-1 score
  heads. It loads adapters in the released DeAR format (a peft ``SEQ_CLS`` adapter whose file also
  holds ``score.weight``) and in the causal-LM format of the listwise stage, by local path or hub id.
* :class:`DearReranker` runs stage 1 (pointwise adapter + score head) over all candidates and stage 2
  (listwise adapter, sliding window) over the stage-1 top ``listwise_depth``.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thinkir.device import torch_dtype
from thinkir.errors import InputError, UnknownModelError
from thinkir.rerank.base import Reranker
from thinkir.types import Candidate, Query, RankedList, Trace

if TYPE_CHECKING:
    import torch

    from thinkir.rerank.listwise import ListwiseReranker
    from thinkir.rerank.pointwise import DearPointwiseReranker

logger = logging.getLogger(__name__)

#: the file, beside the peft files, holding thinkir's own settings of an adapter
THINKIR_ADAPTER_FILE = "thinkir_adapter.json"
_HEAD_SUFFIXES = ("score.weight", "score.modules_to_save.default.weight", "classifier.weight")


def local_base_name(name: str) -> str:
    """Map a hub id that a registry entry ships offline (e.g. SmolLM2) back to its registry key."""
    from thinkir.models import REGISTRY

    for spec in REGISTRY.values():
        if spec.hf_id == name and spec.kind == "llm":
            return spec.key
    return name


def adapter_dir(name_or_path: str | Path) -> Path:
    """A local folder for an adapter given as a path or a hub id (downloaded when hub access exists)."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    name = str(name_or_path)
    parts = name.split("/")
    if len(parts) == 2 and all(parts) and not name.startswith((".", "/", "~")):
        try:
            from huggingface_hub import snapshot_download

            return Path(
                snapshot_download(
                    name, allow_patterns=["*.json", "*.safetensors", "*.bin", "*.model", "*.txt", "*.jinja"]
                )
            )
        except Exception as err:  # hub errors are many types; all mean "not loadable"
            raise UnknownModelError(f"cannot load adapter {name!r} (offline or not found): {err}") from err
    raise UnknownModelError(f"adapter {name!r} is neither a folder nor a hub id")


def read_adapter_meta(path: Path) -> dict[str, Any]:
    """``adapter_config.json`` merged with thinkir's own ``thinkir_adapter.json`` (if present)."""
    cfg_file = path / "adapter_config.json"
    if not cfg_file.is_file():
        raise InputError(f"{path} has no adapter_config.json: not a peft adapter")
    meta = json.loads(cfg_file.read_text())
    own = path / THINKIR_ADAPTER_FILE
    meta["thinkir"] = json.loads(own.read_text()) if own.is_file() else {}
    return meta


def load_adapter_host(
    adapter: str | Path, name: str, base_model: str | None = None, device: str | None = None, dtype: Any = None
) -> tuple[AdapterHost, dict[str, Any]]:
    """A fresh :class:`AdapterHost` with one adapter (path or hub id) loaded as ``name``, and its meta.

    The base model is ``base_model``, else the one the adapter names (thinkir's settings, then peft's
    ``base_model_name_or_path``); ValueError when neither names one.
    """
    folder = adapter_dir(adapter)
    meta = read_adapter_meta(folder)
    base = base_model or meta.get("thinkir", {}).get("base_model") or meta.get("base_model_name_or_path")
    if not base:
        raise ValueError(f"{folder} names no base model; pass base_model")
    host = AdapterHost(base, device=device, dtype=dtype)
    host.load_adapter(folder, name)
    return host, meta


class AdapterHost:
    """One base causal LM with named LoRA adapters; the stage-1 adapters bring a linear score head.

    Args:
        base_model: registry key, hub id or path of a causal LM.
        device, dtype: passed to :func:`thinkir.device.pick_device` / ``pick_dtype``.
    """

    def __init__(
        self, base_model: str, device: str | None = None, dtype: Any = None, cache_dir: Path | None = None
    ) -> None:
        from thinkir.device import pick_device, pick_dtype
        from thinkir.models import load_causal_lm

        self.base_model_name = local_base_name(base_model)
        self.device = pick_device(device)
        self.dtype = dtype or pick_dtype(self.device)
        self.base, self.tokenizer = load_causal_lm(self.base_model_name, self.device, self.dtype, cache_dir)
        self.peft: Any = None
        self.heads: dict[str, torch.nn.Linear] = {}
        self.metas: dict[str, dict[str, Any]] = {}

    # -- adapters ---------------------------------------------------------------------------------
    @property
    def hidden_size(self) -> int:
        return int(self.base.config.hidden_size)

    def adapters(self) -> list[str]:
        return sorted(self.peft.peft_config) if self.peft is not None else []

    def add_adapter(self, name: str, lora_config: Any, with_head: bool = False) -> None:
        """Add a fresh trainable adapter (and a score head, for a pointwise stage)."""
        import torch
        from peft import get_peft_model

        if name in self.adapters():
            raise InputError(f"adapter {name!r} already loaded")
        if self.peft is None:
            self.peft = get_peft_model(self.base, lora_config, adapter_name=name)
        else:
            self.peft.add_adapter(name, lora_config)
        if with_head:
            head = torch.nn.Linear(self.hidden_size, 1, bias=False)
            torch.nn.init.normal_(head.weight, std=self.base.config.initializer_range)
            self.heads[name] = head.to(self.device)
        self.metas[name] = {}

    def load_adapter(self, path_or_id: str | Path, name: str) -> dict[str, Any]:
        """Load an adapter (SEQ_CLS with score head, or CAUSAL_LM) under ``name``; returns its metadata."""
        import torch
        from peft import LoraConfig, set_peft_model_state_dict

        folder = adapter_dir(path_or_id)
        meta = read_adapter_meta(folder)
        state = _read_adapter_weights(folder)
        head_keys = [k for k in state if k.endswith(_HEAD_SUFFIXES)]
        head_weight = state[head_keys[0]] if head_keys else None
        for k in head_keys:
            del state[k]
        fields = {k: v for k, v in meta.items() if k in LoraConfig.__dataclass_fields__}
        fields.update(task_type="CAUSAL_LM", modules_to_save=None, inference_mode=True)
        cfg = LoraConfig(**fields)
        if name in self.adapters():
            raise InputError(f"adapter {name!r} already loaded")
        if self.peft is None:
            from peft import get_peft_model

            self.peft = get_peft_model(self.base, cfg, adapter_name=name)
        else:
            self.peft.add_adapter(name, cfg)
        result = set_peft_model_state_dict(self.peft, state, adapter_name=name)
        missing = [k for k in getattr(result, "missing_keys", []) if "lora_" in k and f".{name}." in k]
        if missing:
            raise InputError(f"adapter {folder} does not fit the base model: missing {missing[:3]}")
        if head_weight is not None:
            if head_weight.shape[-1] != self.hidden_size:
                raise InputError(
                    f"score head of {folder} has width {head_weight.shape[-1]}, base has {self.hidden_size}"
                )
            head = torch.nn.Linear(self.hidden_size, 1, bias=False)
            with torch.no_grad():
                head.weight.copy_(head_weight[:1].float())
            self.heads[name] = head.to(self.device)
        self.peft.eval()
        self.metas[name] = meta
        logger.info("loaded adapter %s from %s (head: %s)", name, folder, head_weight is not None)
        return meta

    def save_adapter(
        self, name: str, out_dir: Path, settings: dict[str, Any] | None = None, save_dtype: str = "bfloat16"
    ) -> Path:
        """Save adapter ``name`` (and its head as ``score.weight``, SEQ_CLS format) into ``out_dir``.

        Written to a temporary folder and renamed into place. Floating LoRA weights are stored in
        ``save_dtype`` to keep files small; the score head is kept in float32.
        """
        from safetensors.torch import load_file, save_file

        from thinkir.models import model_id

        out_dir = Path(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".tmp-", dir=out_dir.parent))
        try:
            self.peft.save_pretrained(str(tmp), selected_adapters=[name])
            src = tmp / name if (tmp / name).is_dir() else tmp
            weights = load_file(str(src / "adapter_model.safetensors"))
            dtype = torch_dtype(save_dtype)
            weights = {k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in weights.items()}
            cfg = json.loads((src / "adapter_config.json").read_text())
            base = (settings or {}).get("base_model") or self.base_model_name
            cfg["base_model_name_or_path"] = model_id(base)
            if name in self.heads:
                weights["base_model.model.score.weight"] = self.heads[name].weight.detach().float().cpu()
                cfg["task_type"] = "SEQ_CLS"
                cfg["modules_to_save"] = ["classifier", "score"]
            else:
                cfg["task_type"] = "CAUSAL_LM"
            cfg["inference_mode"] = True
            final = tmp / "final"
            final.mkdir()
            save_file(weights, str(final / "adapter_model.safetensors"))
            (final / "adapter_config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True))
            (final / THINKIR_ADAPTER_FILE).write_text(json.dumps(settings or {}, indent=2, sort_keys=True))
            if out_dir.exists():
                shutil.rmtree(out_dir)
            final.rename(out_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return out_dir

    @contextmanager
    def active(self, name: str | None) -> Iterator[None]:
        """Run the base model with adapter ``name`` (None: the plain base model)."""
        if self.peft is None:
            if name is not None:
                raise InputError(f"adapter {name!r} is not loaded")
            yield
            return
        if name is None:
            with self.peft.disable_adapter():
                yield
            return
        if name not in self.adapters():
            raise InputError(f"adapter {name!r} is not loaded; loaded: {self.adapters()}")
        if self.peft.active_adapter != name:
            self.peft.set_adapter(name)
        yield

    @property
    def causal_lm(self) -> Any:
        """The model to call ``generate``/``forward`` on (peft wrapper when adapters exist)."""
        return self.peft if self.peft is not None else self.base

    def decoder(self) -> Any:
        """The transformer body (returns hidden states), LoRA layers injected in place."""
        get = getattr(self.base, "get_decoder", None)
        body = get() if get is not None else None
        return body if body is not None else self.base.model


def _read_adapter_weights(folder: Path) -> dict[str, Any]:
    st = folder / "adapter_model.safetensors"
    if st.is_file():
        from safetensors.torch import load_file

        return dict(load_file(str(st)))
    binary = folder / "adapter_model.bin"
    if binary.is_file():
        import torch

        return dict(torch.load(binary, map_location="cpu", weights_only=True))
    raise InputError(f"{folder} has no adapter_model.safetensors or adapter_model.bin")


class DearReranker(Reranker):
    """Stage 1 (pointwise) over all candidates, then stage 2 (listwise) over the top ``listwise_depth``.

    Both stages share one :class:`AdapterHost`; each activates its own adapter.
    """

    name = "dear"

    def __init__(self, pointwise: DearPointwiseReranker, listwise: ListwiseReranker, listwise_depth: int = 30) -> None:
        if pointwise.host is not listwise.host:
            raise InputError("both DeAR stages must share one AdapterHost")
        self.pointwise = pointwise
        self.listwise = listwise
        self.listwise_depth = listwise_depth

    def rerank_many(self, queries: Sequence[Query], candidates: Sequence[Sequence[Candidate]]) -> list[RankedList]:
        """Both stages for many queries; stage 2 batches its windows across queries."""
        t0 = time.perf_counter()
        first = [self.pointwise.rerank(q, c) for q, c in zip(queries, candidates, strict=True)]
        t1 = time.perf_counter()
        heads = [list(r.candidates[: self.listwise_depth]) for r in first]
        second = self.listwise.rerank_many(queries, heads)
        t2 = time.perf_counter()
        n = max(len(queries), 1)
        out = []
        for r1, r2 in zip(first, second, strict=True):
            tail = list(r1.candidates[self.listwise_depth :])
            timings = {"stage1_ms": (t1 - t0) * 1000 / n, "stage2_ms": (t2 - t1) * 1000 / n}
            trace = replace(r2.trace, timings_ms=timings)
            out.append(RankedList(r1.query, tuple(_listwise_scores(list(r2.candidates), tail)), trace))
        return out

    def _rerank(self, query: Query, candidates: list[Candidate]) -> tuple[list[Candidate], Trace]:
        ranked = self.rerank_many([query], [candidates])[0]
        return list(ranked.candidates), ranked.trace


def _listwise_scores(head: list[Candidate], tail: list[Candidate]) -> list[Candidate]:
    """Scores that reproduce the final order: listwise rank above every stage-1-only candidate."""
    n = len(head) + len(tail)
    return [c.with_score(float(n - i)) for i, c in enumerate(head + tail)]


# -- loading the committed (or configured) adapters --------------------------------------------------
PACKAGED_ADAPTERS = Path(__file__).parent / "adapters"
_WARNED: set[str] = set()  # stages whose packaged-adapter warning was logged
ADAPTER_ENV = {"pointwise": "THINKIR_DEAR_POINTWISE_ADAPTER", "listwise": "THINKIR_DEAR_LISTWISE_ADAPTER"}


def default_adapter(stage: str, warn: bool = True) -> str:
    """Where a stage's adapter is read from: ``$THINKIR_DEAR_{STAGE}_ADAPTER``, else the packaged one
    (``warn``: log once what the packaged adapters measured; readiness checks pass False)."""
    import os

    from thinkir.errors import StageUnavailableError

    env = os.environ.get(ADAPTER_ENV[stage])
    if env:
        return env
    path = PACKAGED_ADAPTERS / stage
    if not (path / "adapter_config.json").is_file():
        raise StageUnavailableError(
            f"no trained DeAR {stage} adapter at {path}; train one with `thinkir train reranker-{stage} "
            f"--config configs/dear_{stage}_cpu.json` and copy its adapter/ folder there, or set "
            f"{ADAPTER_ENV[stage]} to an adapter path or hub id"
        )
    if warn and stage not in _WARNED:
        _WARNED.add(stage)
        logger.warning(
            "using the packaged DeAR %s adapter: SmolLM2-135M with LoRA r 16, trained for minutes; its stage 1 "
            "ranks below BM25 on DL19 and SciFact and level with it on TREC-COVID "
            "(thinkir/rerank/adapters/README.md). Set %s to a stronger adapter.",
            stage,
            ADAPTER_ENV[stage],
        )
    return str(path)


def load_dear(
    pointwise_adapter: str | None = None,
    listwise_adapter: str | None = None,
    base_model: str | None = None,
    device: str | None = None,
    listwise_depth: int = 30,
    dtype: Any = None,
    **listwise_overrides: Any,
) -> DearReranker:
    """Both stages on one base model: load the two adapters into one :class:`AdapterHost`."""
    from thinkir.rerank.listwise import LISTWISE_ADAPTER, ListwiseReranker, ListwiseSettings
    from thinkir.rerank.pointwise import POINTWISE_ADAPTER, DearPointwiseReranker

    p_dir = adapter_dir(pointwise_adapter or default_adapter("pointwise"))
    l_dir = adapter_dir(listwise_adapter or default_adapter("listwise"))
    meta = read_adapter_meta(p_dir)
    base = base_model or meta["thinkir"].get("base_model") or meta.get("base_model_name_or_path")
    if not base:
        raise InputError(f"{p_dir} names no base model; pass base_model")
    host = AdapterHost(base, device=device, dtype=dtype)
    host.load_adapter(p_dir, POINTWISE_ADAPTER)
    host.load_adapter(l_dir, LISTWISE_ADAPTER)
    settings = ListwiseSettings.from_meta(host.metas[LISTWISE_ADAPTER])
    if listwise_overrides:
        settings = replace(settings, **listwise_overrides)
    return DearReranker(DearPointwiseReranker(host), ListwiseReranker(host, LISTWISE_ADAPTER, settings), listwise_depth)


__all__ = [
    "THINKIR_ADAPTER_FILE",
    "AdapterHost",
    "DearReranker",
    "adapter_dir",
    "default_adapter",
    "load_adapter_host",
    "load_dear",
    "local_base_name",
]
