"""Language identification: Spanish, English, some other language, or undetermined.

Uses `lingua` restricted to a small candidate set (``languages``; ``Settings.lang_candidates``
by default): es and en, plus common confusers (pt, it, fr, ca) so that a Portuguese or Italian
message is reported as "other" instead of being forced into es/en. A restricted detector is both
faster and more accurate than one over 75 languages. One detector is built per candidate set
and cached.

``lang`` is one of ``"es"``, ``"en"``, ``"other"``, ``"und"``:

- ``und`` when the text has too few letters to judge (``"ok"``, ``"12345"``, emoji) or when
  the top confidence is below ``min_confidence`` (``Settings.lang_min_confidence`` by default);
- ``other`` when a non-es/en candidate wins with enough confidence.

Callers that hold a :class:`~analyzer.settings.Settings` (the text pipeline) pass both values;
only when they are left out do the functions below read the process settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import pandas as pd

from analyzer.errors import ConfigError
from analyzer.settings import get_settings

if TYPE_CHECKING:
    from lingua import LanguageDetector

__all__ = [
    "SUPPORTED_LANGS",
    "LangResult",
    "detect_language",
    "detect_languages",
    "get_detector",
]

#: Languages the rest of the analyzer handles; any other detected candidate becomes "other".
SUPPORTED_LANGS: tuple[str, ...] = ("es", "en")

# Fewer letters than this (after removing URLs, e-mails, handles and digits) -> "und": lingua
# is close to a coin toss on one short word ("ok", "top", "no").
_MIN_LETTERS = 3
# Language shows in the first few hundred characters; longer texts only cost time.
_MAX_CHARS = 1000

_NOISE_RE = re.compile(
    r"https?://\S+|www\.\S+"  # URLs
    r"|\S+@\S+"  # e-mails
    r"|(?<!\w)[@#]\w+"  # handles and hashtags (often brand names in another language)
    r"|\[[A-Z_]+\]"  # redaction placeholders such as [EMAIL]
    r"|[\d_]+"
)
_LETTER_RE = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class LangResult:
    """Language of one text, with the evidence behind it."""

    lang: str
    """"es", "en", "other" or "und"."""
    confidence: float
    """lingua's relative confidence (0-1) of the top candidate; 0.0 when the text was too short."""
    detected: str | None
    """ISO code of the top candidate (e.g. "pt" for an "other"), None when nothing was detected."""
    reason: str
    """Why this label: "detected", "low_confidence", "too_short"."""


def _candidate_codes(languages: Iterable[str]) -> tuple[str, ...]:
    codes = tuple(sorted({c.strip().lower() for c in languages}))
    missing = [c for c in SUPPORTED_LANGS if c not in codes]
    if missing:
        raise ConfigError(
            f"Language candidates must include {list(SUPPORTED_LANGS)}; got {list(codes)} "
            f"(missing {missing}). Fix DARKFEEDBACK_LANG_CANDIDATES."
        )
    return codes


@lru_cache(maxsize=4)
def _build_detector(codes: tuple[str, ...]) -> LanguageDetector:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    isos = []
    for code in codes:
        try:
            isos.append(IsoCode639_1.from_str(code))
        except ValueError as exc:
            raise ConfigError(
                f"Unknown ISO 639-1 language code {code!r} in the language candidates {list(codes)}. "
                "Use two-letter codes such as 'es', 'en', 'pt'."
            ) from exc
    # Preloading costs ~1 s once and avoids lazy loads inside the parallel batch calls.
    return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).with_preloaded_language_models().build()


def get_detector(languages: Iterable[str] | None = None) -> LanguageDetector:
    """The lingua detector over ``languages`` (default ``Settings.lang_candidates``), built once per
    candidate set (in any order) and cached."""
    if languages is None:
        languages = get_settings().lang_candidates
    return _build_detector(_candidate_codes(languages))


def _clean(text: object) -> str:
    if not isinstance(text, str):
        return ""
    return " ".join(_NOISE_RE.sub(" ", text[: _MAX_CHARS * 2]).split())[:_MAX_CHARS]


def _decide(values: list[tuple[str, float]], min_confidence: float) -> LangResult:
    if not values:
        return LangResult("und", 0.0, None, "too_short")
    code, conf = max(values, key=lambda cv: cv[1])
    if conf < min_confidence:
        return LangResult("und", conf, code, "low_confidence")
    return LangResult(code if code in SUPPORTED_LANGS else "other", conf, code, "detected")


def _resolve(languages: Iterable[str] | None, min_confidence: float | None) -> tuple[tuple[str, ...], float]:
    """The candidate codes and threshold to use: those passed, else the process settings' (public entry
    points only; the pipeline always passes its own)."""
    if languages is None or min_confidence is None:
        settings = get_settings()
        languages = settings.lang_candidates if languages is None else languages
        min_confidence = settings.lang_min_confidence if min_confidence is None else min_confidence
    if not 0.0 <= min_confidence <= 1.0:
        raise ConfigError(f"The language-ID min_confidence must be between 0 and 1; got {min_confidence}. "
                          "Fix DARKFEEDBACK_LANG_MIN_CONFIDENCE or the value passed.")
    return _candidate_codes(languages), float(min_confidence)


def _detect_all(texts: Sequence[object], codes: tuple[str, ...], min_conf: float) -> list[LangResult]:
    cleaned = [_clean(t) for t in texts]
    judged = [i for i, c in enumerate(cleaned) if len(_LETTER_RE.findall(c)) >= _MIN_LETTERS]
    results = [LangResult("und", 0.0, None, "too_short") for _ in texts]
    if not judged:
        return results
    detector = _build_detector(codes)
    batch = detector.compute_language_confidence_values_in_parallel([cleaned[i] for i in judged])
    for i, values in zip(judged, batch, strict=True):
        pairs = [(cv.language.iso_code_639_1.name.lower(), float(cv.value)) for cv in values]
        results[i] = _decide(pairs, min_conf)
    return results


def detect_language(text: str, languages: Iterable[str] | None = None, *,
                    min_confidence: float | None = None) -> LangResult:
    """Language of one text (see the module docstring for the labels).

    ``languages`` (candidate ISO 639-1 codes, must include es and en) and ``min_confidence``
    default to ``Settings.lang_candidates`` and ``Settings.lang_min_confidence``.
    """
    return _detect_all([text], *_resolve(languages, min_confidence))[0]


def detect_languages(
    texts: Sequence[str] | pd.Series, languages: Iterable[str] | None = None, *,
    min_confidence: float | None = None,
) -> pd.DataFrame:
    """Languages of many texts, one row per text, in input order (a Series keeps its index).

    Columns: ``lang`` ("es"/"en"/"other"/"und") and ``lang_confidence`` (float, 0-1).
    Non-string items (None, NaN) are "und". ``languages`` and ``min_confidence`` as in
    :func:`detect_language`.
    """
    index = texts.index if isinstance(texts, pd.Series) else pd.RangeIndex(len(texts))
    items = list(texts)
    results = _detect_all(items, *_resolve(languages, min_confidence))
    return pd.DataFrame(
        {
            "lang": pd.Series([r.lang for r in results], index=index),
            "lang_confidence": pd.Series([r.confidence for r in results], index=index, dtype="float64"),
        }
    )
