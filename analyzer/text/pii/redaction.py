"""Redaction: every finder, spaCy NER where a name may be, merged spans, typed placeholders.

Every detected span is replaced by a typed placeholder (``[EMAIL]``, ``[PHONE]``, ...). Overlapping
spans are merged into their union (so nothing of an entity stays next to its placeholder) and take
the type of the longest one. ``Redaction.entities`` holds ``(type, start, end)`` offsets on the
ORIGINAL text, never the raw values, so it can be logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from analyzer.errors import ConfigError
from analyzer.text.pii.names import find_names, might_contain_name, ner_person_spans
from analyzer.text.pii.patterns import find_addresses, find_emails, find_ids, find_numbers, find_urls_handles
from analyzer.text.pii.spans import Span, merge_spans

__all__ = ["NER_LANGS", "Redaction", "find_entities", "redact", "redact_batch"]

#: Languages whose spaCy NER runs; for "other"/"und" only the regular expressions and cue rules apply.
NER_LANGS: tuple[str, ...] = ("es", "en")


@dataclass(frozen=True)
class Redaction:
    """A redacted text and where its entities were, on the original text."""

    text: str
    """The text with each entity replaced by ``[TYPE]``."""
    entities: list[tuple[str, int, int]] = field(default_factory=list)
    """``(type, start, end)`` character offsets on the original text (never the raw value)."""

    @property
    def types(self) -> list[str]:
        """Entity types found, in text order (with repeats)."""
        return [t for t, _, _ in self.entities]


def _regex_spans(text: str) -> list[Span]:
    return (
        find_emails(text)
        + find_urls_handles(text)
        + find_ids(text)
        + find_numbers(text)
        + find_addresses(text)
        + find_names(text)
    )


def _apply(text: str, spans: list[Span]) -> Redaction:
    merged = merge_spans(spans)
    out: list[str] = []
    pos = 0
    for s in merged:
        out.append(text[pos:s.start])
        out.append(f"[{s.type}]")
        pos = s.end
    out.append(text[pos:])
    return Redaction("".join(out), [(s.type, s.start, s.end) for s in merged])


def find_entities(text: str) -> list[tuple[str, int, int]]:
    """Regex-layer entities only (no spaCy), merged: ``(type, start, end)`` on ``text``."""
    return [(s.type, s.start, s.end) for s in merge_spans(_regex_spans(text))]


def redact_batch(
    texts: Sequence[str], langs: Sequence[str] | None = None, *, use_ner: bool = True, batch_size: int = 256,
    lang_candidates: Iterable[str] | None = None, lang_min_confidence: float | None = None,
) -> list[Redaction]:
    """Redact many texts; ``langs[i]`` ("es", "en", "other", "und") picks the NER model for ``texts[i]``.

    The regex layer runs on every text. spaCy NER runs only on es/en texts that pass
    :func:`might_contain_name`, batched per language with every other pipeline component disabled.
    When ``langs`` is None and NER is on, the languages are detected here
    (:func:`analyzer.text.langid.detect_languages` over ``lang_candidates`` with
    ``lang_min_confidence``; both default to the settings'). Non-string items are treated as empty texts.
    """
    items = [t if isinstance(t, str) else "" for t in texts]
    if langs is None:
        langs = _detect(items, lang_candidates, lang_min_confidence) if use_ner else ["und"] * len(items)
    if len(items) != len(langs):
        raise ConfigError(
            f"redact_batch needs one language per text; got {len(items)} texts and {len(langs)} langs."
        )
    spans = [_regex_spans(t) for t in items]
    if use_ner:
        from analyzer.text.sentences import components_for, load_pipeline

        for lang in NER_LANGS:
            idx = [i for i, (t, lg) in enumerate(zip(items, langs, strict=True))
                   if lg == lang and t and might_contain_name(t)]
            if not idx:
                continue
            nlp = load_pipeline(lang)
            disable = components_for(nlp, ("ner",))
            for i, doc in zip(idx, nlp.pipe((items[i] for i in idx), disable=disable, batch_size=batch_size),
                              strict=True):
                spans[i] += ner_person_spans(doc, items[i])
    return [_apply(t, s) for t, s in zip(items, spans, strict=True)]


def redact(
    text: str, lang: str | None = None, *, use_ner: bool = True,
    lang_candidates: Iterable[str] | None = None, lang_min_confidence: float | None = None,
) -> Redaction:
    """Redact one text (see :func:`redact_batch`); with ``lang`` None its language is detected, so
    that NER runs on Spanish and English texts that come without one (an agent's note)."""
    return redact_batch([text], None if lang is None else [lang], use_ner=use_ner,
                        lang_candidates=lang_candidates, lang_min_confidence=lang_min_confidence)[0]


def _detect(texts: list[str], candidates: Iterable[str] | None, min_confidence: float | None) -> list[str]:
    from analyzer.text.langid import detect_languages  # pandas and lingua: only when a language is needed

    return [str(lang) for lang in detect_languages(texts, candidates, min_confidence=min_confidence)["lang"]]
