"""Checksums of the numbers PII redaction finds: cards (Luhn), IBAN (mod-97), Spanish DNI/NIE, CIF, NSS.

A validator only says whether a string *can* be the entity; the finders in
:mod:`analyzer.text.pii.patterns` decide from the context too (a price, an order number).
"""

from __future__ import annotations

import re

__all__ = ["IBAN_LENGTHS", "cif_is_valid", "dni_is_valid", "iban_is_valid", "luhn_is_valid", "nie_is_valid",
           "nss_is_valid"]

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"

#: IBAN length per country code (ISO 13616); a country not listed is checked by mod-97 only.
IBAN_LENGTHS: dict[str, int] = {
    "ES": 24, "AD": 24, "PT": 25, "FR": 27, "IT": 27, "DE": 22, "GB": 22, "IE": 22, "NL": 18,
    "BE": 16, "CH": 21, "AT": 20, "LU": 20, "MC": 27, "SM": 27, "PL": 28, "SE": 24, "DK": 18,
    "NO": 15, "FI": 18, "GR": 27, "CZ": 24, "SK": 24, "RO": 24, "HU": 28, "BR": 29, "DO": 28,
    "CR": 22, "GT": 28, "SV": 28,
}


def luhn_is_valid(number: str) -> bool:
    """Luhn checksum of a digit string (spaces and dashes ignored)."""
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN (spaces, dashes and case ignored)."""
    compact = re.sub(r"[\s-]", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def dni_is_valid(number: str, letter: str) -> bool:
    """Spanish DNI/NIF: 8 digits (dots allowed) and the mod-23 check letter (any case)."""
    digits = re.sub(r"\D", "", number)
    return len(digits) == 8 and _DNI_LETTERS[int(digits) % 23] == letter.upper()


def nie_is_valid(prefix: str, number: str, letter: str) -> bool:
    """Spanish NIE: X/Y/Z + 7 digits + check letter (X=0, Y=1, Z=2 then as a DNI)."""
    p = prefix.upper()
    if p not in "XYZ" or len(number) != 7 or not number.isdigit():
        return False
    return dni_is_valid(str("XYZ".index(p)) + number, letter)


def cif_is_valid(cif: str) -> bool:
    """Spanish CIF: organisation letter + 7 digits + control digit or letter."""
    compact = re.sub(r"[\s-]", "", cif).upper()
    m = re.fullmatch(r"([ABCDEFGHJNPQRSUVW])(\d{7})([0-9A-J])", compact)
    if not m:
        return False
    kind, digits, control = m.groups()
    total = 0
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == 0:  # positions 1, 3, 5, 7: doubled, digits summed
            d *= 2
            d = d // 10 + d % 10
        total += d
    check = (10 - total % 10) % 10
    as_letter = "JABCDEFGHI"[check]
    if kind in "PQRSNW":  # these organisation types always use a letter
        return control == as_letter
    if kind in "ABEH":  # these always use a digit
        return control == str(check)
    return control in (str(check), as_letter)


def nss_is_valid(number: str) -> bool:
    """Spanish social security number: 2-digit province + 8 digits + 2 mod-97 control digits."""
    digits = re.sub(r"\D", "", number)
    if len(digits) != 12:
        return False
    province, body, control = int(digits[:2]), int(digits[2:10]), int(digits[10:])
    base = body + province * 10_000_000 if body < 10_000_000 else int(digits[:10])
    return base % 97 == control
