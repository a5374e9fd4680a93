"""PII redaction for Spanish and English customer texts.

Two layers, cheapest first:

1. Regular expressions with validators (no model, :mod:`~analyzer.text.pii.patterns` and
   :mod:`~analyzer.text.pii.validators`): e-mails (also spelled out), URLs, handles, phones,
   payment cards (Luhn), IBANs (mod-97), Spanish DNI/NIE, CIF, NSS, postal addresses; and person
   names after a cue or made of a known first name and surname (:mod:`~analyzer.text.pii.names`:
   "me llamo rosa garcía", "soy pilar", "my name is john smith", "llamé a juan pérez").
2. spaCy NER (PER / PERSON) in the text's language, run only on the texts where a cheap check says
   a name may be present (:func:`might_contain_name`). :func:`redact` detects the language
   itself when it is not given.

:mod:`~analyzer.text.pii.redaction` puts them together: every span becomes a typed placeholder
(``[EMAIL]``, ``[PHONE]``, ...), overlapping spans merge into their union, and
``Redaction.entities`` keeps ``(type, start, end)`` offsets on the original text, never the values.

A leak is worse than an over-redaction: validators only reject what is clearly *not* the entity
(a bad DNI letter, a Luhn-invalid card, a price, an order number after "pedido"/"order").
"""

from __future__ import annotations

from analyzer.text.pii.names import might_contain_name
from analyzer.text.pii.redaction import Redaction, find_entities, redact, redact_batch
from analyzer.text.pii.spans import ENTITY_TYPES
from analyzer.text.pii.validators import (
    cif_is_valid,
    dni_is_valid,
    iban_is_valid,
    luhn_is_valid,
    nie_is_valid,
    nss_is_valid,
)

__all__ = [
    "ENTITY_TYPES",
    "Redaction",
    "cif_is_valid",
    "dni_is_valid",
    "find_entities",
    "iban_is_valid",
    "luhn_is_valid",
    "might_contain_name",
    "nie_is_valid",
    "nss_is_valid",
    "redact",
    "redact_batch",
]
