"""Every error the analyzer raises, in one place.

Each message says what was wrong, what was received and how to fix it.

Hierarchy::

    AnalyzerError(Exception)
    ├── ConfigError(AnalyzerError, ValueError)       bad settings or arguments
    ├── ModelNotFoundError(AnalyzerError, LookupError) a model name or folder that cannot be loaded
    ├── ModelBuildError(AnalyzerError, RuntimeError) the offline rebuild of a model failed
    ├── MissingExtraError(AnalyzerError, ImportError) an optional feature whose extra is not installed
    ├── InputFormatError(AnalyzerError, ValueError)  an input file that cannot be read at all
    ├── RowError(AnalyzerError, ValueError)          one bad row (goes to the rejected-rows file)
    └── NotFittedError(AnalyzerError, ValueError, AttributeError) a head used before training
"""

from __future__ import annotations

__all__ = [
    "AnalyzerError",
    "ConfigError",
    "InputFormatError",
    "MissingExtraError",
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


class MissingExtraError(AnalyzerError, ImportError):
    """An optional feature was asked for, but the packages of its extra are not installed.

    ``extra`` names the ``pip install 'dark-feedback[extra]'`` that fixes it; ``missing`` the
    packages that were not found.
    """

    def __init__(self, feature: str, *, extra: str, missing: tuple[str, ...]) -> None:
        self.feature, self.extra, self.missing = feature, extra, missing
        one = len(missing) == 1
        super().__init__(
            f"{feature} needs {' and '.join(missing)}, which {'is' if one else 'are'} not installed "
            f"(the default install leaves {'it' if one else 'them'} out). "
            f"Install the {extra!r} extra: pip install 'dark-feedback[{extra}]'",
            name=missing[0],
        )


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
