"""Exception types. The CLI maps them to one-line messages and exit codes, the service to HTTP codes."""

from __future__ import annotations


class ThinkirError(Exception):
    """Base class for errors a user can act on."""

    exit_code = 1


class InputError(ThinkirError, ValueError):
    """Bad user input: a missing file, a malformed line, an invalid option."""

    exit_code = 2


class IndexExistsError(ThinkirError):
    exit_code = 3


class ManifestMismatchError(ThinkirError):
    """An index was built with a different embedder (or format) than the one configured."""

    exit_code = 4


class UnknownModelError(InputError):
    """A model name that is neither a registry key nor a loadable Hugging Face id or local path."""


class StageUnavailableError(ThinkirError):
    """A pipeline stage was asked for that this installation or index does not provide."""

    exit_code = 5


class MissingExtraError(ThinkirError, ImportError):
    exit_code = 6
