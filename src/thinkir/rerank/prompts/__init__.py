"""Prompt templates shipped as package data and validated on load.

Each template is a ``str.format`` string in a ``.txt`` file beside this module. :func:`load_template`
checks that a template uses exactly the fields its caller fills, so an edited file fails at load time
with a clear message instead of producing a silently wrong prompt.
"""

from __future__ import annotations

import string
from functools import cache
from importlib.resources import files

from thinkir.errors import InputError

#: template name -> the fields it must use (no more, no fewer)
FIELDS: dict[str, frozenset[str]] = {
    "pointwise_query": frozenset({"query"}),
    "pointwise_document": frozenset({"title", "text"}),
    "listwise_system": frozenset(),
    "listwise_user": frozenset({"num", "query", "passages"}),
    "listwise_passage": frozenset({"index", "text"}),
    "listwise_answer": frozenset({"rationale", "ranking"}),
}


def template_fields(template: str) -> set[str]:
    """Names of the ``{fields}`` a format string uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def validate_template(name: str, template: str) -> str:
    """Return ``template`` if it uses exactly the fields of ``name``; raise :class:`InputError` otherwise."""
    if name not in FIELDS:
        raise InputError(f"unknown prompt template {name!r}; valid: {sorted(FIELDS)}")
    try:
        used = template_fields(template)
    except ValueError as err:
        raise InputError(f"prompt template {name!r} is not a valid format string: {err}") from err
    expected = FIELDS[name]
    if used != expected:
        raise InputError(f"prompt template {name!r} must use fields {sorted(expected)}, uses {sorted(used)}")
    return template


@cache
def load_template(name: str) -> str:
    """Read the packaged template ``name`` (without ``.txt``), stripped of its final newline."""
    if name not in FIELDS:
        raise InputError(f"unknown prompt template {name!r}; valid: {sorted(FIELDS)}")
    text = files(__name__).joinpath(f"{name}.txt").read_text(encoding="utf-8").rstrip("\n")
    return validate_template(name, text)


__all__ = ["FIELDS", "load_template", "template_fields", "validate_template"]
