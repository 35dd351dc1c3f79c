"""Assemble a :class:`~thinkir.classify.group.GroupClassifier` from a model directory, settings or a config."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thinkir.classify.config import ClassifierConfig
from thinkir.classify.group import GroupClassifier
from thinkir.classify.taxonomy import load_taxonomy
from thinkir.errors import InputError

if TYPE_CHECKING:
    from thinkir.config import Settings

logger = logging.getLogger(__name__)

CONFIG_FILE = "classifier.json"


def build_classifier_from_source(
    source: Settings | str | Path | None,
    overrides: dict[str, Any] | None = None,
    device: str | None = None,
) -> GroupClassifier:
    from thinkir.config import Settings, get_settings

    cache_dir: Path | None = None
    if source is None:
        source = get_settings()
    if isinstance(source, Settings):
        cache_dir = source.cache_dir
        model_dir = getattr(source, "classifier_dir", None)
        if model_dir:
            source = Path(model_dir)
        else:
            data = {
                "taxonomy": str(Path(source.data_dir) / "naics"),
                "embedder": source.embedder,
                "llm": source.llm,
                "device": None if source.device == "auto" else source.device,
            }
            config = ClassifierConfig.from_dict({**data, **(overrides or {})})
            if device:
                config.device = device
            return build_classifier(config, base_dir=None, cache_dir=cache_dir)
    path = Path(source).expanduser()
    if path.is_file() and path.suffix.lower() in (".json", ".yaml", ".yml") and path.name != CONFIG_FILE:
        # a standalone ClassifierConfig file (e.g. configs/classifier-zeroshot.json): paths as written
        from thinkir.classify.config import read_config_file
        from thinkir.config import get_settings

        config = ClassifierConfig.from_dict({**read_config_file(path), **(overrides or {})})
        if device:
            config.device = device
        return build_classifier(config, base_dir=None, cache_dir=get_settings().cache_dir)
    if path.is_file() and path.name == CONFIG_FILE:
        path = path.parent
    if not (path / CONFIG_FILE).is_file():
        raise InputError(
            f"{path} is not a classifier model directory (no {CONFIG_FILE}) nor a classifier config file; "
            "train one with `thinkir train classifier --config FILE`"
        )
    data = json.loads((path / CONFIG_FILE).read_text())
    config = ClassifierConfig.from_dict({**data, **(overrides or {})})
    if device:
        config.device = device
    return build_classifier(config, base_dir=path, cache_dir=cache_dir)


def _resolve(base_dir: Path | None, value: str) -> str:
    """Relative paths in a model directory's config point inside that directory."""
    if base_dir is not None and not Path(value).is_absolute() and (base_dir / value).exists():
        return str(base_dir / value)
    return value


def build_classifier(
    config: ClassifierConfig, base_dir: Path | None = None, cache_dir: Path | None = None
) -> GroupClassifier:
    from thinkir.classify.retriever import LabelRetriever
    from thinkir.classify.voters import LexicalVoter, LLMVoter, RetrieverVoter, Voter
    from thinkir.retrieval.embedders import SentenceTransformerEmbedder

    taxonomy = load_taxonomy(_resolve(base_dir, config.taxonomy))
    embedder_name = _resolve(base_dir, config.embedder)
    embedder = SentenceTransformerEmbedder(embedder_name, device=config.device, max_seq_length=config.max_seq_length)
    if base_dir is not None:
        label_dir: Path | None = base_dir / "label_index"
    else:
        root = Path(cache_dir) if cache_dir else None
        key = hashlib.sha256(
            f"{embedder.model_id}|{embedder.revision}|{Path(config.taxonomy).resolve()}|{config.label_text}|"
            f"{config.label_max_chars}".encode()
        ).hexdigest()[:16]
        label_dir = root / "classify" / key if root else None
    retriever = LabelRetriever.load_or_build(label_dir, embedder, taxonomy, config.label_text, config.label_max_chars)
    voters: dict[str, Voter] = {}
    weights = config.weights
    if weights.get("retriever", 0) > 0:
        voters["retriever"] = RetrieverVoter(taxonomy, config.temperatures["retriever"], config.aggregate)
    if weights.get("lexical", 0) > 0:
        voters["lexical"] = LexicalVoter(
            taxonomy, config.label_text, config.label_max_chars, config.temperatures["lexical"]
        )
    if weights.get("llm", 0) > 0:
        voters["llm"] = LLMVoter.from_name(
            taxonomy,
            _resolve(base_dir, config.llm),
            device=config.device,
            temperature=config.temperatures["llm"],
            scoring=config.llm_scoring,
            calibrate=config.llm_calibrate,
            max_options=config.llm_max_options,
        )
    classifier = GroupClassifier(
        taxonomy,
        retriever,
        voters,
        weights,
        retrieve_k=config.retrieve_k,
        beam_width=config.beam_width,
        top_k=config.top_k,
    )
    classifier.config = config  # type: ignore[attr-defined]
    return classifier
