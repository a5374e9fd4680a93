"""The span every PII finder returns, the entity types, and how overlapping spans merge."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ENTITY_TYPES", "Span", "merge_spans"]

#: Placeholder types, in tie-break priority order (earlier wins when two spans are equally long).
ENTITY_TYPES: tuple[str, ...] = (
    "EMAIL", "URL", "IBAN", "CARD", "NSS", "DNI", "NIE", "CIF", "PHONE", "ADDRESS", "HANDLE", "PERSON",
)
_PRIORITY = {t: i for i, t in enumerate(ENTITY_TYPES)}


@dataclass(frozen=True)
class Span:
    """One detected entity: its type and ``[start, end)`` character offsets on the original text."""

    type: str
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


def merge_spans(spans: list[Span]) -> list[Span]:
    """Merge overlapping spans into their union, typed after the longest (ties: ENTITY_TYPES order).

    The union, not the longest span, is kept so that nothing of either entity is left in clear.
    Empty spans are dropped; the result is sorted and non-overlapping.
    """
    spans = [s for s in spans if s.end > s.start]
    spans.sort(key=lambda s: (s.start, -s.length, _PRIORITY[s.type]))
    merged: list[tuple[int, int, Span]] = []  # (start, end, representative)
    for s in spans:
        if merged and s.start < merged[-1][1]:
            start, end, best = merged[-1]
            if (s.length, -_PRIORITY[s.type]) > (best.length, -_PRIORITY[best.type]):
                best = s
            merged[-1] = (start, max(end, s.end), best)
        else:
            merged.append((s.start, s.end, s))
    return [Span(best.type, start, end) for start, end, best in merged]
