"""Hierarchical code classification: GREEN-style group reasoning over a taxonomy such as NAICS 2022.

    from thinkir.classify import load_classifier

    clf = load_classifier("runs/classifier-naics")      # a model directory from `thinkir train classifier`
    result = clf.classify("We brew craft beer and run a taproom")
    result.predictions[0].code, result.predictions[0].path, result.predictions[0].confidences

Heavy modules (torch, faiss, transformers) load only when a classifier is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from thinkir.classify.config import ClassifierConfig, ClassifierTrainConfig
from thinkir.classify.taxonomy import LabelText, Taxonomy, TaxonomyNode, load_taxonomy

if TYPE_CHECKING:
    from pathlib import Path

    from thinkir.classify.group import GroupClassifier
    from thinkir.config import Settings

__all__ = [
    "ClassifierConfig",
    "ClassifierTrainConfig",
    "LabelText",
    "Taxonomy",
    "TaxonomyNode",
    "build_classifier",
    "load_classifier",
    "load_taxonomy",
]


def load_classifier(
    settings_or_path: Settings | str | Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    device: str | None = None,
) -> GroupClassifier:
    """Build a ready :class:`~thinkir.classify.group.GroupClassifier`.

    Args:
        settings_or_path: a model directory written by ``thinkir train classifier`` (or its
            ``classifier.json``); or a :class:`~thinkir.config.Settings` (uses its ``classifier_dir``
            when it has one, else zero-shot: ``settings.embedder`` over the NAICS files in
            ``settings.data_dir/naics``, ``settings.llm`` for the LLM voter); None: settings from the
            environment.
        overrides: :class:`ClassifierConfig` fields to change (``weights``, ``beam_width``, …).
        device: ``cpu``, ``cuda``… (default: the config's, else automatic).

    Raises:
        InputError: a missing model directory or taxonomy, bad options.
    """
    from thinkir.classify.builder import build_classifier_from_source

    return build_classifier_from_source(settings_or_path, overrides=overrides, device=device)


def build_classifier(
    config: ClassifierConfig, base_dir: Path | None = None, cache_dir: Path | None = None
) -> GroupClassifier:
    """Assemble a classifier from a :class:`ClassifierConfig` (relative paths resolved against ``base_dir``)."""
    from thinkir.classify.builder import build_classifier as _build

    return _build(config, base_dir=base_dir, cache_dir=cache_dir)
