"""LREM training data: (query, keyword reasoning, item) triples, built offline.

Sources (paths relative to ``data_dir``, default ``../shared/data``):

* SciFact train queries with their train qrels and the SciFact corpus; a dev split of the train
  queries (``dev_fraction``, by a seeded shuffle of query ids) is held out and never trained on. The
  SciFact *test* queries are never read here.
* ``msmarco/triples.jsonl``: (query, positive, negative).
* ``reasoning/bright-queries``: BRIGHT queries with a GPT-4 reasoning text, used for the reasoning
  side only (no item: those rows train the SFT term, not InfoNCE).

Teachers write the keyword reasoning:

* ``privileged`` (offline default): a *privileged* teacher that reads the gold item and keeps its
  salient terms (tf·idf over the source's collection, title terms boosted) that the query lacks, i.e.
  the terms that make the gold document match. It sees the answer, so it is an upper bound on what a
  real teacher can say; it is documented as such. For BRIGHT rows it reads the reasoning text instead.
* any causal LM by registry key / id / path (:class:`LLMTeacher`), in the paper's two steps: free
  reasoning about what the query needs, then keyword extraction.

Post-processing (both teachers): dedupe (by stem), drop words already in the query, truncate to
``max_keyword_tokens`` (16) tokens of the LREM tokenizer. Then the ②−① filter with the current retriever
(MiniLM, dense): keep an item when the reasoning-augmented query retrieves it in the top ``filter_k``
and the plain query does not (``filter="gain"``); ``"improves"`` keeps it when reasoning improves its
rank; ``"none"`` keeps everything. Items come from the qrels, so they are judged relevant.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
import os
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from thinkir.errors import InputError

logger = logging.getLogger(__name__)

T = TypeVar("T")

BRIGHT_DOMAINS = (
    "biology",
    "earth-science",
    "economics",
    "psychology",
    "robotics",
    "stackoverflow",
    "sustainable-living",
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]|[A-Za-z]")
_STOP_WORDS = """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just may me might
    more most must my no nor not now of off on once only or other our out over own same she should
    so some such than that the their them then there these they this those through to too under
    until up upon very was we were what when where which while who whom why will with within without
    would you your however therefore thus using used use via among across per one two three four
    many much well study studies result results show shown showed found find effect effects
    associated increased reduced patients level levels role data analysis method methods based new
    high low case cases question answer like know want need get way make see
"""
_STOP = frozenset(_STOP_WORDS.split())


# ---- configs -------------------------------------------------------------------------------------
def load_config(
    cls: type[T], path: str | Path | None = None, section: str | None = None, overrides: Sequence[str] = ()
) -> T:
    """Build dataclass ``cls`` from a JSON or YAML file (optionally one ``section`` of it) and
    ``key=value`` overrides (values parsed as JSON when they parse, else kept as strings)."""
    raw: dict[str, Any] = {}
    if path is not None:
        text = Path(path).read_text()
        raw = (json.loads(text) if str(path).endswith(".json") else _yaml(text)) or {}
        if section is not None:
            raw = raw.get(section) or {}
    raw = {k: v for k, v in raw.items() if not k.startswith("_")}  # "_comment" and the like
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"override {item!r} is not key=value")
        if "." in key:
            sec, _, key = key.partition(".")
            if section is not None and sec != section:
                continue
        try:
            raw[key] = json.loads(value)
        except json.JSONDecodeError:
            raw[key] = value
    unknown = set(raw) - known
    if unknown:
        raise InputError(f"unknown {cls.__name__} settings {sorted(unknown)}; valid: {sorted(known)}")
    for f in fields(cls):  # type: ignore[arg-type]
        if isinstance(raw.get(f.name), list) and "tuple" in str(f.type):
            raw[f.name] = tuple(raw[f.name])
    return cls(**raw)


def _yaml(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


@dataclass
class LremDataConfig:
    """Data construction settings (section ``data`` of a reasoner config)."""

    data_dir: str = "../shared/data"
    out_dir: str = "runs/lrem/data"
    llm: str = "smollm2-135m"  # its tokenizer bounds the reasoning length
    retriever: str = "minilm"  # the current retriever of the ②−① filter
    teacher: str = "privileged"  # or an LLM registry key / hub id / path
    use_scifact: bool = True
    use_msmarco: bool = True
    use_bright: bool = True
    bright_domains: tuple[str, ...] = BRIGHT_DOMAINS
    max_bright: int = 400
    max_msmarco: int = 100_000
    max_scifact_queries: int = 100_000  # train queries (before the dev split); small for tiny runs
    max_corpus_docs: int = 0  # 0: the whole SciFact corpus; else the positives plus a sample
    dev_fraction: float = 0.2
    max_keyword_tokens: int = 16
    max_terms: int = 8
    filter: str = "gain"  # gain | improves | none
    filter_k: int = 10
    mine_negatives: bool = True  # hard negative per row: the retriever's best non-relevant item
    seed: int = 13
    device: str | None = None


@dataclass
class LremExample:
    """One training row. ``item`` is None for reasoning-only rows (BRIGHT)."""

    qid: str
    source: str
    query: str
    keywords: str
    item: str | None = None
    item_id: str | None = None
    negative: str | None = None


def read_examples(path: str | Path) -> list[LremExample]:
    with open(path, encoding="utf-8") as fh:
        return [LremExample(**json.loads(line)) for line in fh if line.strip()]


def write_examples(path: str | Path, rows: Iterable[LremExample]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
            n += 1
    return n


# ---- loaders -------------------------------------------------------------------------------------
def _open(path: Path) -> Any:
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def load_scifact(folder: str | Path, max_docs: int = 0, keep: Iterable[str] = ()) -> dict[str, Any]:
    """SciFact corpus ``{id: (title, text)}``, queries ``{id: text}``, train/test qrels ``{qid: {did: g}}``."""
    folder = Path(folder)
    corpus: dict[str, tuple[str, str]] = {}
    with _open(folder / "corpus.jsonl.gz") as fh:
        for line in fh:
            d = json.loads(line)
            corpus[str(d["_id"])] = (d.get("title", ""), d.get("text", ""))
    queries = {}
    with _open(folder / "queries.jsonl") as fh:
        for line in fh:
            q = json.loads(line)
            queries[str(q["_id"])] = q["text"]
    qrels = {
        split: _qrels(folder / "qrels" / f"{split}.tsv")
        for split in ("train", "test")
        if (folder / "qrels" / f"{split}.tsv").is_file()
    }
    if max_docs and max_docs < len(corpus):
        keep = set(keep)
        rng = random.Random(0)
        others = sorted(set(corpus) - keep)
        chosen = keep | set(rng.sample(others, max(0, max_docs - len(keep))))
        corpus = {k: v for k, v in corpus.items() if k in chosen}
    return {"corpus": corpus, "queries": queries, "qrels": qrels}


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            parts = line.split()
            if n == 0 and not parts[-1].lstrip("-").isdigit():
                continue  # BEIR header
            if len(parts) == 3:
                q, d, g = parts
            elif len(parts) == 4:
                q, _, d, g = parts
            else:
                raise InputError(f"{path}:{n + 1}: expected 3 or 4 columns")
            out.setdefault(q, {})[d] = int(g)
    return out


def split_dev(qids: Sequence[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded split of query ids into (train, dev)."""
    ids = sorted(qids, key=lambda x: (len(x), x))
    random.Random(seed).shuffle(ids)
    n_dev = int(round(len(ids) * fraction))
    return sorted(ids[n_dev:]), sorted(ids[:n_dev])


def load_msmarco(path: str | Path, limit: int) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line, _ in zip(fh, range(limit), strict=False) if line.strip()]


def load_bright(folder: str | Path, domains: Sequence[str], limit: int, seed: int) -> list[dict[str, str]]:
    rows = []
    for dom in domains:
        path = Path(folder) / f"topics.bright-{dom}-original.jsonl.gz"
        with _open(path) as fh:
            for line in fh:
                r = json.loads(line)
                if r.get("reasoning"):
                    rows.append({"id": f"{dom}-{r['id']}", "query": r["query"], "reasoning": r["reasoning"]})
    random.Random(seed).shuffle(rows)
    return rows[:limit]


# ---- the privileged teacher -----------------------------------------------------------------------
def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def stem(word: str) -> str:
    """Porter-style stem (PyStemmer when installed, else a crude suffix strip)."""
    st = _stemmer()
    if st is not None:
        return str(st.stemWord(word))
    for suf in ("ations", "ation", "ings", "ing", "edly", "ed", "es", "s"):
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            return word[: -len(suf)]
    return word


_STEMMER: list[Any] = []


def _stemmer() -> Any:
    if not _STEMMER:
        try:
            import Stemmer

            _STEMMER.append(Stemmer.Stemmer("english"))
        except ImportError:
            _STEMMER.append(None)
    return _STEMMER[0]


def document_frequencies(texts: Iterable[str]) -> tuple[Counter[str], int]:
    df: Counter[str] = Counter()
    n = 0
    for t in texts:
        df.update({stem(w) for w in words(t)})
        n += 1
    return df, n


def salient_terms(
    query: str, text: str, df: Counter[str], n_docs: int, title: str = "", max_terms: int = 8
) -> list[str]:
    """Terms of ``title + text`` ranked by tf·idf (title ×2), without stopwords and the query's stems."""
    q_stems = {stem(w) for w in words(query)}
    scores: dict[str, float] = {}
    surface: dict[str, str] = {}
    for weight, part in ((2.0, title), (1.0, text)):
        for w in words(part):
            if len(w) < 3 or w in _STOP or w.isdigit():
                continue
            s = stem(w)
            if s in q_stems:
                continue
            idf = math.log((n_docs + 1) / (df.get(s, 0) + 1)) + 1.0
            scores[s] = scores.get(s, 0.0) + weight * idf
            surface.setdefault(s, w)
    ranked = sorted(scores, key=lambda s: (-scores[s], s))
    return [surface[s] for s in ranked[:max_terms]]


def postprocess_keywords(
    keywords: Sequence[str], query: str, count_tokens: Callable[[str], int], max_tokens: int = 16
) -> str:
    """Dedupe (by stem), drop keywords whose words all occur in the query, keep a ``, ``-joined prefix
    of at most ``max_tokens`` tokens (as ``count_tokens`` counts them)."""
    q_stems = {stem(w) for w in words(query)}
    seen: set[str] = set()
    kept: list[str] = []
    for kw in keywords:
        kw = " ".join(kw.strip(" .;:-\n\t\"'").split())
        ws = words(kw)
        key = " ".join(stem(w) for w in ws)
        if not ws or key in seen or all(stem(w) in q_stems for w in ws):
            continue
        candidate = ", ".join([*kept, kw])
        if count_tokens(" " + candidate) > max_tokens:
            break
        seen.add(key)
        kept.append(kw)
    return ", ".join(kept)


class LLMTeacher:
    """A causal LM (any id) as teacher, in two steps: free reasoning, then keyword extraction."""

    def __init__(self, name: str, device: str | None = None, reasoning_tokens: int = 96) -> None:
        from thinkir.models import load_causal_lm

        self.model, self.tokenizer = load_causal_lm(name, device=device)
        self.reasoning_tokens = reasoning_tokens

    def _chat(self, prompt: str, max_new: int) -> str:
        import torch

        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
        else:
            text = prompt + "\n"
        ids = tok(text, return_tensors="pt", add_special_tokens=False).to(self.model.device)
        with torch.inference_mode():
            out = self.model.generate(  # type: ignore[operator]
                **ids, max_new_tokens=max_new, do_sample=False, pad_token_id=tok.pad_token_id
            )
        return str(tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True))

    def keywords(self, query: str) -> list[str]:
        reasoning = self._chat(
            f"Search query: {query}\nThink step by step about what a relevant document would discuss.",
            self.reasoning_tokens,
        )
        listed = self._chat(
            f"Search query: {query}\nReasoning: {reasoning}\n"
            "Extract up to 8 search keywords from the reasoning, comma-separated, nothing else.",
            32,
        )
        return [k for k in re.split(r"[,\n;]", listed) if k.strip()]


# ---- the ②−① filter --------------------------------------------------------------------------------
class DenseRetriever:
    """The current retriever for the filter: a sentence-transformers model, exact cosine search."""

    def __init__(self, name: str = "minilm", device: str | None = None, batch_size: int = 256) -> None:
        from sentence_transformers import SentenceTransformer

        from thinkir.device import pick_device
        from thinkir.models import resolve

        self.device = pick_device(device)
        self.name = resolve(name, "embedder")
        self.model = SentenceTransformer(self.name, device=self.device)
        if self.device.startswith("cuda"):
            self.model.half()
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str], cache: bool = False) -> np.ndarray:
        """Unit vectors of ``texts``. ``cache=True`` (for corpora) keeps them on disk under the thinkir
        cache directory, keyed by model and texts, so data construction and evaluation encode once."""
        path = self._cache_path(texts) if cache else None
        if path is not None and path.exists():
            return np.load(path)
        vecs = np.asarray(
            self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, vecs)
            os.replace(tmp, path)
        return vecs

    def _cache_path(self, texts: Sequence[str]) -> Path:
        from thinkir.models import _cache_root

        h = hashlib.sha256(self.name.encode())
        for t in texts:
            h.update(t.encode("utf-8", "replace") + b"\0")
        return _cache_root(None) / "embeddings" / f"{h.hexdigest()[:24]}.npy"

    def ranks(
        self,
        queries: Sequence[str],
        doc_matrix: np.ndarray,
        gold: Sequence[int],
        positives: Sequence[set[int]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """1-based rank of each query's gold row in ``doc_matrix`` ``[N, D]``, and the best-scoring row
        that is none of the query's ``positives`` (a mined hard negative)."""
        q = self.encode(queries)
        sims = q @ doc_matrix.T  # [B, N]
        g = sims[np.arange(len(gold)), np.asarray(gold)]
        ranks = 1 + (sims > g[:, None]).sum(1)
        for i, pos in enumerate(positives or [{x} for x in gold]):
            sims[i, list(pos)] = -np.inf
        return ranks, sims.argmax(1)


def keep_by_filter(rank_plain: np.ndarray, rank_aug: np.ndarray, mode: str, k: int) -> np.ndarray:
    """``gain``: ② − ① (augmented query retrieves the item in the top k, the plain query does not);
    ``improves``: reasoning improves the item's rank; ``none``: keep all."""
    if mode == "gain":
        return (rank_aug <= k) & (rank_plain > k)  # type: ignore[no-any-return]
    if mode == "improves":
        return rank_aug < rank_plain  # type: ignore[no-any-return]
    if mode == "none":
        return np.ones(len(rank_plain), dtype=bool)
    raise InputError(f"unknown filter {mode!r}; valid: gain, improves, none")


# ---- construction --------------------------------------------------------------------------------
@dataclass
class _Pool:
    """Items of one source, for teaching and filtering."""

    texts: list[str]
    titles: list[str]
    ids: list[str]
    index: dict[str, int] = field(default_factory=dict)
    vectors: np.ndarray | None = None


def build_lrem_data(cfg: LremDataConfig) -> dict[str, Any]:
    """Write ``train.jsonl``, ``dev.jsonl``, ``split.json`` and ``stats.json`` into ``cfg.out_dir``."""
    from transformers import AutoTokenizer

    from thinkir.models import resolve

    data = Path(cfg.data_dir)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(resolve(cfg.llm, "llm"))

    def count(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"])

    teacher = None if cfg.teacher == "privileged" else LLMTeacher(cfg.teacher, device=cfg.device)
    need_retriever = cfg.filter != "none" or cfg.mine_negatives
    retriever = DenseRetriever(cfg.retriever, device=cfg.device) if need_retriever else None
    stats: dict[str, Any] = {"config": asdict(cfg)}
    train: list[LremExample] = []
    dev: list[LremExample] = []
    split: dict[str, list[str]] = {}

    if cfg.use_scifact:
        sf = load_scifact(data / "scifact")
        train_qids = sorted(q for q in sf["qrels"].get("train", {}) if q in sf["queries"])
        train_qids = train_qids[: cfg.max_scifact_queries]
        tr_ids, dev_ids = split_dev(train_qids, cfg.dev_fraction, cfg.seed)
        split = {"train": tr_ids, "dev": dev_ids}
        positives = {d for q in train_qids for d in sf["qrels"]["train"][q]}
        if cfg.max_corpus_docs:
            sf = load_scifact(data / "scifact", cfg.max_corpus_docs, keep=positives)
        corpus = sf["corpus"]
        ids = sorted(corpus)
        pool = _Pool([corpus[i][1] for i in ids], [corpus[i][0] for i in ids], ids, {d: n for n, d in enumerate(ids)})
        for name, qids, sink in (("scifact", tr_ids, train), ("scifact-dev", dev_ids, dev)):
            rows = [
                (q, sf["queries"][q], d)
                for q in qids
                for d, g in sorted(sf["qrels"]["train"][q].items())
                if g > 0 and d in pool.index
            ]
            made = _teach_and_filter(
                name, rows, pool, cfg, count, teacher, retriever, apply_filter=sink is train, stats=stats
            )
            sink.extend(made)

    if cfg.use_msmarco:
        triples = load_msmarco(data / "msmarco" / "triples.jsonl", cfg.max_msmarco)
        texts = sorted({t[k] for t in triples for k in ("positive", "negative")})
        pool = _Pool(
            texts, [""] * len(texts), [f"ms{i}" for i in range(len(texts))], {t: i for i, t in enumerate(texts)}
        )
        query_ids: dict[str, str] = {}
        for t in triples:
            query_ids.setdefault(t["query"], f"ms-{len(query_ids)}")
        rows_ms = [(query_ids[t["query"]], t["query"], f"ms{pool.index[t['positive']]}") for t in triples]
        pool.index = {pid: i for i, pid in enumerate(pool.ids)}
        negs = [t["negative"] for t in triples]
        made = _teach_and_filter("msmarco", rows_ms, pool, cfg, count, teacher, retriever, True, stats, negs)
        train.extend(made)

    if cfg.use_bright:
        rows_b = load_bright(data / "reasoning" / "bright-queries", cfg.bright_domains, cfg.max_bright, cfg.seed)
        df, n = document_frequencies(r["reasoning"] for r in rows_b)
        kept = 0
        for r in rows_b:
            query = " ".join(r["query"].split()[:48])
            kws = (
                teacher.keywords(query)
                if teacher
                else salient_terms(query, r["reasoning"], df, n, max_terms=cfg.max_terms)
            )
            text = postprocess_keywords(kws, query, count, cfg.max_keyword_tokens)
            if text:
                train.append(LremExample(r["id"], "bright", query, text))
                kept += 1
        stats["bright"] = {"rows": len(rows_b), "kept": kept}

    random.Random(cfg.seed).shuffle(train)
    stats["train"] = write_examples(out / "train.jsonl", train)
    stats["dev"] = write_examples(out / "dev.jsonl", dev)
    (out / "split.json").write_text(json.dumps(split))
    (out / "stats.json").write_text(json.dumps(stats, indent=2))
    return stats


def _teach_and_filter(
    name: str,
    rows: Sequence[tuple[str, str, str]],
    pool: _Pool,
    cfg: LremDataConfig,
    count: Callable[[str], int],
    teacher: LLMTeacher | None,
    retriever: DenseRetriever | None,
    apply_filter: bool,
    stats: dict[str, Any],
    negatives: Sequence[str | None] | None = None,
) -> list[LremExample]:
    """Keyword reasonings for ``(qid, query, item_id)`` rows, then the filter (train rows only)."""
    if not rows:
        stats[name] = {"rows": 0, "kept": 0}
        return []
    df, n = document_frequencies(f"{t} {x}" for t, x in zip(pool.titles, pool.texts, strict=True))
    made = []
    for n_row, (qid, query, item_id) in enumerate(rows):
        i = pool.index[item_id]
        kws = (
            teacher.keywords(query)
            if teacher
            else salient_terms(query, pool.texts[i], df, n, pool.titles[i], cfg.max_terms)
        )
        text = postprocess_keywords(kws, query, count, cfg.max_keyword_tokens)
        item = f"{pool.titles[i]} {pool.texts[i]}".strip()
        negative = negatives[n_row] if negatives is not None else None
        made.append(LremExample(qid, name.split("-")[0], query, text, item, item_id, negative))
    entry: dict[str, Any] = {"rows": len(made)}
    if retriever is not None:
        from thinkir.retrieval.reasoning.reasoner import two_tower_text

        if pool.vectors is None:  # once per pool (train and dev share the SciFact corpus)
            pool.vectors = retriever.encode(
                [f"{t} {x}".strip() for t, x in zip(pool.titles, pool.texts, strict=True)], cache=True
            )
        docs = pool.vectors
        gold = [pool.index[ex.item_id or ""] for ex in made]
        by_q: dict[str, set[int]] = {}
        for ex, g in zip(made, gold, strict=True):
            by_q.setdefault(ex.qid, set()).add(g)
        plain, hard = retriever.ranks([ex.query for ex in made], docs, gold, [by_q[ex.qid] for ex in made])
        aug, _ = retriever.ranks([two_tower_text(ex.query, ex.keywords) for ex in made], docs, gold)
        if cfg.mine_negatives:
            for ex, h in zip(made, hard, strict=True):
                if ex.negative is None:
                    ex.negative = f"{pool.titles[h]} {pool.texts[h]}".strip()
        k = cfg.filter_k
        entry.update({"plain_hit@k": float(np.mean(plain <= k)), "augmented_hit@k": float(np.mean(aug <= k))})
        if apply_filter:
            keep = keep_by_filter(plain, aug, cfg.filter, k)
            made = [ex for ex, kk in zip(made, keep, strict=True) if kk]
    entry["kept"] = len(made)
    stats[name] = entry
    logger.info("%s: %s", name, entry)
    return made


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Build LREM training data (section 'data' of a config).")
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", action="append", default=[], help="key=value override")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    cfg = load_config(LremDataConfig, args.config, "data", args.set)
    stats = build_lrem_data(cfg)
    print(json.dumps({k: v for k, v in stats.items() if k != "config"}))


if __name__ == "__main__":
    main()
