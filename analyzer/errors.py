"""Every error the analyzer raises, in one place.

Each message says what was wrong, what was received and how to fix it.

Hierarchy::

    AnalyzerError(Exception)
    ├── ConfigError(AnalyzerError, ValueError)       bad settings or arguments
    ├── ModelNotFoundError(AnalyzerError, LookupError) a model name or folder that cannot be loaded
    ├── ModelBuildError(AnalyzerError, RuntimeError) the offline rebuild of a model failed
    ├── InputFormatError(AnalyzerError, ValueError)  an input file that cannot be read at all
    ├── RowError(AnalyzerError, ValueError)          one bad row (goes to the rejected-rows file)
    └── NotFittedError(AnalyzerError, ValueError, AttributeError) a head used before training
"""

from __future__ import annotations

__all__ = [
    "AnalyzerError",
    "ConfigError",
    "InputFormatError",
    "ModelBuildError",
    "ModelNotFoundError",
    "NotFittedError",
    "RowError",
]


class AnalyzerError(Exception):
    """Base class of every error raised by :mod:`analyzer`."""


class ConfigError(AnalyzerError, ValueError):
    """A setting or argument has a value the analyzer cannot use."""


class ModelNotFoundError(AnalyzerError, LookupError):
    """A model name, artifact or folder could not be found or loaded."""


class ModelBuildError(AnalyzerError, RuntimeError):
    """Rebuilding a model from an offline package failed."""


class InputFormatError(AnalyzerError, ValueError):
    """An input file cannot be read at all (unknown format, missing column, ...)."""


class RowError(AnalyzerError, ValueError):
    """One input row is invalid; batch code records it as rejected and goes on.

    ``reason`` is a short machine-readable code (``empty_text``, ``bad_timestamp``,
    ``undecodable``, ``text_too_long``, ...); the message explains it to a person.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class NotFittedError(AnalyzerError, ValueError, AttributeError):
    """A trainable component was used before ``fit`` (or before its artifact was loaded)."""
