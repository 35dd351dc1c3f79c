"""Code taxonomies (NAICS 2022 or any ``code, parent, title, description`` table) and their label texts.

A :class:`Taxonomy` is a forest of :class:`TaxonomyNode` s. Depth is the number of nodes on the path
from a root (NAICS sectors are depth 1, six-digit industries depth 5). The classifier walks it level by
level, so everything it needs (children, paths, leaves under a node) is precomputed here.

NAICS quirks handled by :func:`load_naics`: three sectors are ranges (``31-33``, ``44-45``, ``48-49``),
so the parent of a three-digit code is the sector whose range holds its first two digits; many
five-digit descriptions only say "See industry description for 111120."; the text after
"Cross-References." lists other industries and is left out of label texts.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from thinkir.errors import InputError

logger = logging.getLogger(__name__)

NAICS_CODES_FILE = "naics_2022_codes.csv"
NAICS_DESCRIPTIONS_FILE = "naics_2022_descriptions.csv"
GENERIC_COLUMNS = ("code", "parent", "title", "description")


class LabelText(str, Enum):
    """What text stands for a code in the retriever and the lexical voter."""

    TITLE = "title"
    TITLE_DESCRIPTION = "title+description"
    PATH_TITLE_DESCRIPTION = "path+title+description"


@dataclass(frozen=True, slots=True)
class TaxonomyNode:
    code: str
    title: str
    description: str = ""
    parent: str | None = None


class Taxonomy:
    """A validated code hierarchy.

    Args:
        nodes: every node once; a node's ``parent`` must be another node's code or ``None`` (a root).
        name: a short name recorded in model directories and eval reports.

    Raises:
        InputError: duplicate codes, a parent that is not in the table, a cycle, or no nodes.
    """

    def __init__(self, nodes: Iterable[TaxonomyNode], name: str = "taxonomy") -> None:
        self.name = name
        self.nodes: dict[str, TaxonomyNode] = {}
        for node in nodes:
            if not node.code:
                raise InputError("a taxonomy row has an empty code")
            if node.code in self.nodes:
                raise InputError(f"duplicate code {node.code!r} in taxonomy {name!r}")
            self.nodes[node.code] = node
        if not self.nodes:
            raise InputError(f"taxonomy {name!r} has no codes")
        missing = sorted(
            {f"{n.code} (parent {n.parent})" for n in self.nodes.values() if n.parent and n.parent not in self.nodes}
        )
        if missing:
            shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            raise InputError(f"taxonomy {name!r}: codes with missing parents: {shown}")
        self._children: dict[str | None, list[str]] = {}
        for node in self.nodes.values():
            self._children.setdefault(node.parent, []).append(node.code)
        self._depth: dict[str, int] = {}
        for code in self.nodes:
            self._depth[code] = self._compute_depth(code)
        self._leaves_under: dict[str, tuple[str, ...]] = {}
        for code in self._postorder():
            kids = self._children.get(code, [])
            if kids:
                self._leaves_under[code] = tuple(leaf for k in kids for leaf in self._leaves_under[k])
            else:
                self._leaves_under[code] = (code,)

    # ---- structure ----------------------------------------------------------------------------
    def _compute_depth(self, code: str) -> int:
        seen: set[str] = set()
        depth = 0
        current: str | None = code
        while current is not None:
            if current in seen:
                raise InputError(f"taxonomy {self.name!r} has a cycle through {current!r}")
            seen.add(current)
            depth += 1
            current = self.nodes[current].parent
        return depth

    def _postorder(self) -> list[str]:
        return sorted(self.nodes, key=lambda c: -self._depth[c])

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, code: object) -> bool:
        return code in self.nodes

    def __getitem__(self, code: str) -> TaxonomyNode:
        try:
            return self.nodes[code]
        except KeyError as err:
            raise InputError(f"unknown code {code!r} in taxonomy {self.name!r}") from err

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(self._children.get(None, ()))

    def children(self, code: str | None) -> tuple[str, ...]:
        """Children of ``code`` (``None``: the roots), in table order."""
        return tuple(self._children.get(code, ()))

    def is_leaf(self, code: str) -> bool:
        return not self._children.get(code)

    def depth(self, code: str) -> int:
        return self._depth[self[code].code]

    @property
    def max_depth(self) -> int:
        return max(self._depth.values())

    def path(self, code: str) -> tuple[str, ...]:
        """Codes from the root down to ``code`` inclusive."""
        out: list[str] = []
        current: str | None = self[code].code
        while current is not None:
            out.append(current)
            current = self.nodes[current].parent
        return tuple(reversed(out))

    def ancestor_at(self, code: str, depth: int) -> str:
        """The node on ``code``'s path at ``depth`` (``code`` itself when it is shallower)."""
        path = self.path(code)
        return path[min(depth, len(path)) - 1]

    def leaves(self) -> tuple[str, ...]:
        return tuple(c for c in self.nodes if self.is_leaf(c))

    def leaves_under(self, code: str) -> tuple[str, ...]:
        return self._leaves_under[self[code].code]

    def level_sizes(self) -> dict[int, int]:
        sizes: dict[int, int] = {}
        for d in self._depth.values():
            sizes[d] = sizes.get(d, 0) + 1
        return dict(sorted(sizes.items()))

    def level_name(self, depth: int) -> str:
        """``2digit`` … ``6digit`` when the codes at ``depth`` are numbers of one length (NAICS; sector
        ranges such as ``31-33`` are ignored), else ``level<depth>``."""
        lengths = {len(c) for c, d in self._depth.items() if d == depth and c.isdigit()}
        return f"{lengths.pop()}digit" if len(lengths) == 1 else f"level{depth}"

    # ---- label texts --------------------------------------------------------------------------
    def label_text(self, code: str, mode: LabelText | str = LabelText.TITLE_DESCRIPTION, max_chars: int = 0) -> str:
        """The text that stands for ``code``: its title, optionally its path titles and description.

        ``max_chars`` > 0 cuts the description at a word boundary (label texts are embedded and
        indexed; the first sentences carry the meaning).
        """
        mode = LabelText(mode)
        node = self[code]
        parts: list[str] = []
        if mode is LabelText.PATH_TITLE_DESCRIPTION:
            parts.append(" > ".join(self.nodes[c].title for c in self.path(code)))
        else:
            parts.append(node.title)
        if mode is not LabelText.TITLE and node.description:
            desc = node.description
            if max_chars and len(desc) > max_chars:
                desc = desc[:max_chars].rsplit(" ", 1)[0]
            parts.append(desc)
        return ". ".join(p.strip().rstrip(".") for p in parts if p.strip()) + "."

    # ---- persistence --------------------------------------------------------------------------
    def to_csv(self, path: Path) -> None:
        """Write the generic ``code,parent,title,description`` form (readable by :func:`load_csv`)."""
        with Path(path).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(GENERIC_COLUMNS)
            for n in self.nodes.values():
                writer.writerow([n.code, n.parent or "", n.title, n.description])


# ---- loaders -----------------------------------------------------------------------------------
def load_taxonomy(source: str | Path) -> Taxonomy:
    """Load a taxonomy from a NAICS folder (or its codes CSV) or a generic CSV.

    Raises:
        InputError: the path does not exist or is not a format this module reads.
    """
    path = Path(source).expanduser()
    if not path.exists():
        raise InputError(f"taxonomy not found: {path}")
    if path.is_dir():
        if (path / NAICS_CODES_FILE).is_file():
            return load_naics(path)
        if (path / "taxonomy.csv").is_file():
            return load_csv(path / "taxonomy.csv")
        raise InputError(f"{path} holds neither {NAICS_CODES_FILE} nor taxonomy.csv")
    if path.name == NAICS_CODES_FILE:
        return load_naics(path.parent)
    if path.suffix.lower() != ".csv":
        raise InputError(
            f"unknown taxonomy file format {path.suffix or path.name!r}: give a NAICS folder or a CSV "
            f"with columns {', '.join(GENERIC_COLUMNS)}"
        )
    return load_csv(path)


def load_csv(path: str | Path, name: str | None = None) -> Taxonomy:
    """Read a generic taxonomy CSV with a header ``code,parent,title,description``.

    ``parent`` is empty for roots; ``description`` may be empty. Extra columns are ignored.
    """
    path = Path(path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        lacking = [c for c in ("code", "parent", "title") if c not in header]
        if lacking:
            raise InputError(
                f"{path}: not a taxonomy CSV, missing column(s) {lacking}; expected header "
                f"{','.join(GENERIC_COLUMNS)} (found {reader.fieldnames})"
            )
        nodes = []
        for line, row in enumerate(reader, start=2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            if not row["code"]:
                raise InputError(f"{path}:{line}: empty code")
            nodes.append(TaxonomyNode(row["code"], row["title"], row.get("description", ""), row["parent"] or None))
    return Taxonomy(nodes, name=name or path.stem)


_SEE_RE = re.compile(r"^See industry description for (\d+)\.?\s*$")


def load_naics(folder: str | Path) -> Taxonomy:
    """NAICS 2022 from the Census files: parents from code prefixes, sector ranges resolved."""
    folder = Path(folder)
    codes_file = folder / NAICS_CODES_FILE
    if not codes_file.is_file():
        raise InputError(f"{folder} has no {NAICS_CODES_FILE}")
    with codes_file.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    titles: dict[str, str] = {}
    for row in rows[1:]:
        if len(row) >= 3 and row[1].strip():
            titles[row[1].strip()] = _clean_title(row[2])
    descriptions: dict[str, str] = {}
    desc_file = folder / NAICS_DESCRIPTIONS_FILE
    if desc_file.is_file():
        with desc_file.open(encoding="utf-8-sig", newline="") as fh:
            for record in csv.DictReader(fh):
                descriptions[record["Code"].strip()] = record["Description"]
    else:
        logger.warning("%s missing: NAICS label texts will be titles only", desc_file)
    sector_of = naics_sector_map(titles)
    nodes = []
    for code, title in titles.items():
        nodes.append(TaxonomyNode(code, title, _naics_description(code, descriptions), _naics_parent(code, sector_of)))
    return Taxonomy(nodes, name="naics2022")


def naics_sector_map(codes: Iterable[str]) -> dict[str, str]:
    """Two-digit prefix → sector code, expanding ranges (``"32"`` → ``"31-33"``)."""
    out: dict[str, str] = {}
    for code in codes:
        if "-" in code:
            lo, hi = code.split("-", 1)
            for p in range(int(lo), int(hi) + 1):
                out[str(p)] = code
        elif len(code) == 2:
            out[code] = code
    return out


def _naics_parent(code: str, sector_of: dict[str, str]) -> str | None:
    if "-" in code or len(code) == 2:
        return None
    if len(code) == 3:
        if code[:2] not in sector_of:
            raise InputError(f"NAICS code {code} has no sector for prefix {code[:2]}")
        return sector_of[code[:2]]
    return code[:-1]


def _clean_title(title: str) -> str:
    return " ".join(title.split())


def _naics_description(code: str, descriptions: dict[str, str], _hops: int = 0) -> str:
    text = descriptions.get(code, "").strip()
    match = _SEE_RE.match(text)
    if match and _hops < 3:
        return _naics_description(match.group(1), descriptions, _hops + 1)
    text = text.split("Cross-References.", 1)[0]
    text = text.replace("The Sector as a Whole", "")
    return " ".join(text.split())


# ---- labelled examples -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Example:
    """A description labelled with a leaf code."""

    text: str
    code: str


def load_examples(path: str | Path, taxonomy: Taxonomy | None = None) -> list[Example]:
    """Read labelled descriptions from a CSV: NAICS index files (``NAICS22, INDEX ITEM DESCRIPTION``)
    or any CSV with ``code`` and ``description`` (or ``text``) columns.

    Rows whose code is not a code (the NAICS index's ``******`` cross-reference rows) are skipped;
    with ``taxonomy`` given, codes it does not have raise an error.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"examples file not found: {path}")
    if path.suffix.lower() != ".csv":
        raise InputError(f"unknown examples file format {path.suffix!r}: expected a .csv")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = {f.strip().lower(): f for f in reader.fieldnames or []}
        code_col = fields.get("code") or fields.get("naics22") or fields.get("label")
        text_col = fields.get("description") or fields.get("text") or fields.get("index item description")
        if not code_col or not text_col:
            raise InputError(
                f"{path}: expected columns code,description (or NAICS22,INDEX ITEM DESCRIPTION), "
                f"found {reader.fieldnames}"
            )
        out: list[Example] = []
        skipped = 0
        for row in reader:
            code, text = (row.get(code_col) or "").strip(), " ".join((row.get(text_col) or "").split())
            if not code or not code.replace("-", "").isalnum() or not text:
                skipped += 1
                continue
            if taxonomy is not None and code not in taxonomy:
                raise InputError(f"{path}: code {code!r} is not in taxonomy {taxonomy.name!r}")
            out.append(Example(text, code))
    if skipped:
        logger.info("%s: skipped %d rows without a usable code or text", path, skipped)
    return out


def split_examples(
    examples: Sequence[Example], dev_fraction: float, seed: int, tune_fraction: float = 0.0
) -> tuple[list[Example], list[Example], list[Example]]:
    """Split by description (each distinct text goes to one side), reproducibly for a seed.

    Returns ``(train, dev, tune)``; ``tune`` is a further held-out slice for choosing vote weights, so
    that ``dev`` numbers are not tuned on.
    """
    import random

    if not 0 <= dev_fraction < 1 or not 0 <= tune_fraction < 1 or dev_fraction + tune_fraction >= 1:
        raise InputError("dev_fraction and tune_fraction must be in [0, 1) and sum to less than 1")
    texts = sorted({e.text for e in examples})
    random.Random(seed).shuffle(texts)
    n_dev, n_tune = round(len(texts) * dev_fraction), round(len(texts) * tune_fraction)
    dev_texts, tune_texts = set(texts[:n_dev]), set(texts[n_dev : n_dev + n_tune])
    train = [e for e in examples if e.text not in dev_texts and e.text not in tune_texts]
    return train, [e for e in examples if e.text in dev_texts], [e for e in examples if e.text in tune_texts]


def write_examples(examples: Iterable[Example], path: Path) -> None:
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["code", "description"])
        for e in examples:
            writer.writerow([e.code, e.text])
