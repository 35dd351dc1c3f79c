"""Configuration of the classifier (saved inside a model directory) and of a training run (a file).

Both are plain dataclasses: :class:`ClassifierConfig` is what ``thinkir classify --model DIR`` reads
back from ``DIR/classifier.json``; :class:`ClassifierTrainConfig` is what ``thinkir train classifier
--config FILE`` reads from a JSON or YAML file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from thinkir.errors import InputError

VOTERS = ("retriever", "lexical", "llm")


@dataclass
class ClassifierConfig:
    """How a :class:`~thinkir.classify.group.GroupClassifier` is assembled.

    Attributes:
        taxonomy: a NAICS folder, a taxonomy CSV, or (inside a model directory) ``taxonomy.csv``.
        embedder: retriever model: registry key, hub id or path (relative paths are resolved against
            the model directory).
        label_text: ``title``, ``title+description`` or ``path+title+description``.
        label_max_chars: descriptions are cut to this many characters in label texts (0: whole).
        retrieve_k: the retriever's top-K leaves; only nodes above one of them become candidates.
        beam_width: paths kept after each level.
        top_k: codes returned.
        weights: vote weight per voter (``retriever``, ``lexical``, ``llm``); 0 switches a voter off.
        temperatures: each voter's scores become a distribution over the options by
            ``softmax(score / temperature)``.
        aggregate: how the retriever turns leaf scores into a node score: ``sum`` (probability mass
            of the node's leaves) or ``max`` (best leaf).
        llm: causal LM of the LLM voter: registry key, hub id or path.
        llm_scoring: ``title`` (mean log-prob of the option's title) or ``letter`` (log-prob of its letter).
        llm_calibrate: subtract each option's score under a content-free description.
        llm_max_options: levels with more options than this are left to the other voters.
        max_seq_length: token limit of the retriever's encoder.
        device: ``cpu``, ``cuda``… (None: automatic).
    """

    taxonomy: str = "../shared/data/naics"
    embedder: str = "minilm"
    label_text: str = "title+description"
    label_max_chars: int = 300
    retrieve_k: int = 50
    beam_width: int = 3
    top_k: int = 10
    weights: dict[str, float] = field(default_factory=lambda: {"retriever": 1.0, "lexical": 0.0, "llm": 0.0})
    temperatures: dict[str, float] = field(default_factory=lambda: {"retriever": 0.05, "lexical": 2.0, "llm": 0.5})
    aggregate: str = "sum"
    llm: str = "smollm2-135m"
    llm_scoring: str = "title"
    llm_calibrate: bool = True
    llm_max_options: int = 30
    max_seq_length: int = 128
    device: str | None = None

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(VOTERS)
        if unknown:
            raise InputError(f"unknown voter(s) {sorted(unknown)} in weights; valid: {list(VOTERS)}")
        if any(w < 0 for w in self.weights.values()) or not any(w > 0 for w in self.weights.values()):
            raise InputError(f"vote weights must be >= 0 with at least one > 0, got {self.weights}")
        self.temperatures = {**{"retriever": 0.05, "lexical": 2.0, "llm": 0.5}, **self.temperatures}
        if any(t <= 0 for t in self.temperatures.values()):
            raise InputError(f"temperatures must be > 0, got {self.temperatures}")
        if self.aggregate not in ("sum", "max"):
            raise InputError(f"aggregate must be 'sum' or 'max', not {self.aggregate!r}")
        if self.llm_scoring not in ("title", "letter"):
            raise InputError(f"llm_scoring must be 'title' or 'letter', not {self.llm_scoring!r}")
        for name in ("retrieve_k", "beam_width", "top_k"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1")

    def active_voters(self) -> list[str]:
        return [v for v in VOTERS if self.weights.get(v, 0.0) > 0]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifierConfig:
        return cls(**_known(cls, data))


@dataclass
class ClassifierTrainConfig:
    """A retriever fine-tuning run (MultipleNegativesRankingLoss on description → label text pairs).

    The split is by description with ``seed``: ``dev_fraction`` is reported on, ``tune_fraction`` is a
    separate slice for choosing vote weights; both are written to ``output_dir/splits/``.
    """

    output_dir: str = "runs/classifier-naics"
    taxonomy: str = "../shared/data/naics"
    train_file: str = "../shared/data/naics/naics_2022_index_train.csv"
    base_model: str = "minilm"
    seed: int = 13
    dev_fraction: float = 0.1
    tune_fraction: float = 0.05
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 64
    learning_rate: float = 1e-4
    warmup_ratio: float = 0.1
    max_seq_length: int = 96
    label_text: str = "title+description"
    label_max_chars: int = 300
    logging_steps: int = 20
    classifier: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.batch_size < 2:
            raise InputError("batch_size must be >= 2 (in-batch negatives)")
        if self.epochs <= 0 and self.max_steps <= 0:
            raise InputError("set epochs > 0 or max_steps > 0")

    @classmethod
    def from_file(cls, path: str | Path) -> ClassifierTrainConfig:
        """Read a JSON (``.json``) or YAML (``.yaml``/``.yml``) file; unknown keys are an error."""
        data = read_config_file(path)
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise InputError(f"{path}: unknown training option(s) {sorted(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}: invalid JSON: {err}") from err
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise InputError(f"{path}: invalid YAML: {err}") from err
    else:
        raise InputError(f"unknown config file format {suffix!r}: use .json, .yaml or .yml")
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of options")
    return data


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise InputError(f"unknown classifier option(s) {sorted(unknown)}")
    return dict(data)
