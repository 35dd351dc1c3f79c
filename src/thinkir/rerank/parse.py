"""The one parser of listwise LLM output: text -> permutation, rationale and a validity flag.

Model output looks like ``<think> … </think> [2] > [1] > [3]`` (or the ranking first and prose after
it). The parser keeps the reasoning text for the trace, takes the ranking from the last ``[i] > [j]``
chain (else from every ``[i]`` after the reasoning), drops out-of-range and repeated ids and appends
the ids the model left out in input order, so the result is always a full permutation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_CLOSE = re.compile(r"</think>", re.IGNORECASE)
_CHAIN = re.compile(r"\[\s*\d+\s*\](?:\s*(?:>|,)\s*\[\s*\d+\s*\])+")
_ID = re.compile(r"\[\s*(\d+)\s*\]")


@dataclass(frozen=True, slots=True)
class ParsedRanking:
    """A parsed window.

    Attributes:
        order: 0-based positions into the window, best first; always a permutation of ``range(n)``.
        rationale: the reasoning text (inside ``<think>`` or around the ranking), stripped.
        valid: the model named every id exactly once, in range (no repair was needed).
        failed: no id could be read at all (``order`` is then the input order).
    """

    order: tuple[int, ...]
    rationale: str
    valid: bool
    failed: bool


def split_reasoning(text: str) -> tuple[str, str]:
    """Split ``text`` into ``(reasoning, answer)``; ``<think>`` tags or a bare ``</think>`` mark it."""
    match = _THINK.search(text)
    if match:
        answer = text[: match.start()] + text[match.end() :]
        return match.group(1).strip(), answer.strip()
    close = _CLOSE.search(text)
    if close:  # chat templates sometimes put the opening tag in the prompt
        return text[: close.start()].strip(), text[close.end() :].strip()
    return "", text.strip()


def parse_ranking(text: str, n: int) -> ParsedRanking:
    """Parse a window of ``n`` passages numbered ``[1]..[n]`` in ``text``."""
    reasoning, answer = split_reasoning(text)
    chains = list(_CHAIN.finditer(answer)) or list(_CHAIN.finditer(text))
    if chains:
        chain = chains[-1]
        ids = [int(m) for m in _ID.findall(chain.group(0))]
        rest = (answer[: chain.start()] + answer[chain.end() :]).strip() if chain.string is answer else ""
    else:
        ids = [int(m) for m in _ID.findall(answer)]
        rest = ""
    rationale = "\n".join(part for part in (reasoning, rest) if part).strip()

    seen: set[int] = set()
    order: list[int] = []
    bad = 0
    for i in ids:
        pos = i - 1
        if 0 <= pos < n and pos not in seen:
            seen.add(pos)
            order.append(pos)
        else:
            bad += 1
    missing = [p for p in range(n) if p not in seen]
    valid = not missing and bad == 0
    return ParsedRanking(tuple(order + missing), rationale, valid, failed=not order)


def format_ranking(order: Sequence[int]) -> str:
    """``[0, 2, 1]`` (0-based) -> ``"[1] > [3] > [2]"``."""
    return " > ".join(f"[{p + 1}]" for p in order)


@dataclass
class ParseStats:
    """Counts over many windows: how many parsed to a valid permutation, how many failed outright."""

    windows: int = 0
    valid: int = 0
    failures: int = 0
    forced: int = 0  # windows that needed budget forcing (``</think>`` appended) to give a ranking
    forced_valid: int = 0  # of those, how many then gave a valid permutation

    def add(self, parsed: ParsedRanking, forced: bool = False) -> None:
        self.windows += 1
        self.valid += parsed.valid
        self.failures += parsed.failed
        self.forced += forced
        self.forced_valid += forced and parsed.valid

    @property
    def valid_rate(self) -> float:
        return self.valid / self.windows if self.windows else 1.0

    def as_dict(self) -> dict[str, float]:
        return {
            "windows": self.windows,
            "valid": self.valid,
            "failures": self.failures,
            "forced": self.forced,
            "forced_valid": self.forced_valid,
            "valid_rate": round(self.valid_rate, 4),
        }


__all__ = ["ParseStats", "ParsedRanking", "format_ranking", "parse_ranking", "split_reasoning"]
