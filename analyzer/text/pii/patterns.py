"""Regular expressions and finders of the PII that has a shape: e-mails, URLs, handles, numbers, ids, addresses.

- e-mails, also spelled out ("juan punto perez arroba gmail punto com");
- URLs and handles;
- runs of digit groups: phones (Spanish with/without +34/0034, Latin American and other
  international numbers), payment cards (Luhn) and Spanish NSS (mod-97), told apart from order
  numbers and prices by the words before and after them;
- Spanish DNI/NIE (check letter, any case, hyphen/space), CIF (control character), IBAN (mod-97,
  also in groups of four);
- postal addresses (Spanish, Latin American and English street forms) and cued postcodes.

Each finder takes a text and returns :class:`~analyzer.text.pii.spans.Span` objects on it,
unmerged (overlaps are resolved by :func:`~analyzer.text.pii.spans.merge_spans`).
"""

from __future__ import annotations

import re

from analyzer.text.pii.names import stop_words
from analyzer.text.pii.spans import Span
from analyzer.text.pii.validators import (
    cif_is_valid,
    dni_is_valid,
    iban_is_valid,
    luhn_is_valid,
    nie_is_valid,
    nss_is_valid,
)

__all__ = ["find_addresses", "find_emails", "find_ids", "find_numbers", "find_urls_handles"]

_TLD = (r"(?:com|es|net|org|info|io|co|mx|ar|cl|pe|uy|ve|ec|bo|py|cr|gt|do|cu|hn|ni|pa|sv|uk|us|eu|edu|"
        r"gob|gov|biz|me|cat|de|fr|it|pt|br|ch|nl|be|ie|app|dev|online|shop|store|tv)")

_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}", re.I)

_SP_WORD = r"[a-z0-9ñ]+"
_SP_SEP = r"(?:\s*[._-]\s*|\s+(?:punto|dot|gui[oó]n(?:\s+bajo)?|barra\s+baja|underscore|dash|hyphen)\s+)"
_SP_DOT = r"(?:\s*\.\s*|\s+(?:punto|dot)\s+|\s*[\(\[]\s*(?:punto|dot)\s*[\)\]]\s*)"
_SP_AT = r"(?:\s*@\s*|\s+arroba\s+|\s*[\(\[\{<]\s*(?:at|arroba)\s*[\)\]\}>]\s*)"
_PROVIDERS = r"(?:gmail|hotmail|yahoo|outlook|icloud|live|msn|protonmail|proton|aol|telefonica|movistar)"
# "juan punto perez arroba gmail punto com", "juan.perez (at) gmail dot com", "jp arroba hotmail"
_SPELLED_EMAIL_RE = re.compile(
    rf"(?<![\w@]){_SP_WORD}(?:{_SP_SEP}{_SP_WORD}){{0,5}}"
    rf"(?:{_SP_AT}(?:{_SP_WORD}(?:{_SP_DOT}{_SP_WORD}){{0,3}}{_SP_DOT}{_TLD}|{_PROVIDERS})"
    rf"|\s+at\s+{_SP_WORD}(?:{_SP_DOT}{_SP_WORD}){{0,3}}{_SP_DOT}{_TLD})\b",
    re.I,
)
# "mi correo es juan perez arroba ...": the words between the cue and the local part belong to it.
_EMAIL_CUE_TAIL_RE = re.compile(
    r"(?:correo(?:\s+electr[oó]nico)?|e-?mail|mail|email\s+address)\s*(?:es|is|:)?\s+((?:(?!es\s|is\s)[a-z0-9ñ]+\s+){1,2})$",
    re.I,
)

_URL_RE = re.compile(
    rf"(?:https?://|www\.)[^\s<>\"'«»]+|(?<![\w@.])[\w-]+(?:\.[\w-]+)*\.{_TLD}/[^\s<>\"'«»]+", re.I
)
_HANDLE_RE = re.compile(r"(?<![\w@./])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?")

# Digit runs: digit groups separated by one space, or by . - / with optional spaces around.
# Separators are never empty, so the repetition cannot backtrack catastrophically.
_RUN_RE = re.compile(
    r"(?<![\w+])(?:\(?\+[ \t]?)?\(?\d+\)?(?:(?:[ \t]?[.\-/][ \t]?|[ \t])\(?\d+\)?)*(?![\w])"
)
_GROUP_RE = re.compile(r"\d+")

_PHONE_CUE_RE = re.compile(
    r"\b(?:tel[eé]fono|tel|tlf|tfno|telf|m[oó]vil|celular|cel|whats?app|wsp|wa|ll[aá]m[ae]me|llamar|"
    r"ll[aá]menme|contacto|n[uú]mero|phone|mobile|cell|call|text|number|fax|ring)\b[^\d]{0,12}$",
    re.I,
)
_ORDER_CUE_RE = re.compile(
    r"(?:\b(?:pedido|orden|order|ref|referencia|reference|factura|invoice|tracking|seguimiento|env[ií]o|sku|"
    r"c[oó]digo|code|ticket|incidencia|caso|case|expediente|localizador|reserva|booking|vuelo|flight|"
    r"albar[aá]n|cliente|customer|account|cuenta|contrato|contract|n[º°o]|num|id|item|art[ií]culo|"
    r"producto|product|modelo|model|serie|serial|lote|batch|paquete|package|parcel|tarjeta|card)\b|#)[^\d]{0,12}$",
    re.I,
)
_CURRENCY_BEFORE_RE = re.compile(r"(?:[$€£]|\b(?:usd|eur|cop|mxn|ars|clp|pen|us\$))\s?$", re.I)
_CURRENCY_AFTER_RE = re.compile(
    r"^\s?(?:[€$£]|(?:eur|euros?|pesos?|usd|d[oó]lares|dollars?|cop|mxn|ars|clp|soles|mil|millones|k)\b)",
    re.I,
)
_NSS_CUE_RE = re.compile(r"(?:seguridad\s+social|\bnss\b|\bn\.?\s?s\.?\s?s\.?|afiliaci[oó]n|\bnaf\b|"
                         r"social\s+security)[^\d]{0,20}$", re.I)

_DNI_RE = re.compile(r"(?<![\w.])(\d{8}|\d{1,2}\.\d{3}\.\d{3})([ \t]?[-–]?[ \t]?)([A-Za-z])(?![\w])")
_NIE_RE = re.compile(r"(?<![\w])([XYZxyz])[ \t-]?(\d{7})[ \t-]?([A-Za-z])(?![\w])")
_CIF_RE = re.compile(r"(?<![\w])([ABCDEFGHJNPQRSUVW])[ \t-]?(\d{7})[ \t-]?([0-9A-J])(?![\w])", re.I)
_ID_CUE_RE = re.compile(
    r"\b(?:dni|nif|nie|cif|documento|identidad|id|passport|pasaporte)\b[^\d]{0,15}$", re.I
)
_IBAN_START_RE = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?=[ \t-]?[A-Za-z0-9])")
_IBAN_CHUNK_RE = re.compile(r"[ \t-]?[A-Za-z0-9]")

# Addresses ---------------------------------------------------------------------------------
_ES_STREET = (
    r"(?:c/|calle|cl\.?|avda\.?|avd\.?|av\.|avenida|paseo|p[º°]\.?|plaza|pza\.?|pl\.|pla[çc]a|carrera|cra\.?|"
    r"kra\.?|kr\.?|transversal|tv\.?|diagonal|dg\.?|camino|ronda|rda\.?|traves[ií]a|carretera|ctra\.?|"
    r"urbanizaci[oó]n|urb\.?|glorieta|callej[oó]n|pasaje|psje\.?|bulevar|rambla|colonia|jir[oó]n|jr\.)"
)
_NAME_WORD = r"[^\W\d_][^\W\d_'’.-]*\.?"
_CONNECT = r"(?:de|del|la|las|los|el|y|d'|san|santa)"
_CONNECTORS = frozenset({"de", "del", "la", "las", "los", "el", "y", "d'"})
_UNITS = (r"(?:horas?|h|d[ií]as?|veces|vez|min(?:utos)?|semanas?|meses|mes|a[ñn]os?|euros?|€|personas?|km|"
          r"kil[oó]metros?|metros?|m|minutes?|hours?|days?|times?|weeks?|months?|years?|%)")
_ES_EXTRA = (
    r"(?:\s*,?\s*(?:\d{1,2}\s?[º°ª]\s?(?:[A-Za-z]\b|izq(?:uierda|da)?\.?|dcha\.?|der(?:echa)?\.?)?"
    r"|piso\s+\w+|planta\s+\w+|puerta\s+\w+|pta\.?\s*\w+|esc(?:alera)?\.?\s*\w+|portal\s+\w+|bloque\s+\w+"
    r"|apto\.?\s*\w+|apartamento\s+\w+|int(?:erior)?\.?\s*\d+\w*|torre\s+\w+|casa\s+\w+|local\s+\w+"
    r"|bajo\b|[aá]tico\b|entresuelo\b|izq(?:uierda|da)?\.?|dcha\.?|derecha\b|[A-Z]\b(?![.'’])))"
)
_CITY = r"[A-ZÁÉÍÓÚÑ][\wáéíóúñü]+(?:\s+(?:de\s+|del\s+|de\s+la\s+)?[A-ZÁÉÍÓÚÑ][\wáéíóúñü]+){0,2}"
_CITY_END = r"(?=\s*(?:[.,;:!?)\n]|$|\(|\s-\s))"
_POSTAL_TAIL = (
    rf"(?:\s*,?\s*(?:\d{{5}}(?:\s*[-,]?\s*{_CITY})?|\(\s*{_CITY}\s*\)|,\s*{_CITY}{_CITY_END}))?"
    rf"(?:\s*,?\s*\(?(?:Espa[ñn]a|Spain|M[eé]xico|Colombia|Argentina|Chile|Per[uú])\)?\b)?"
)
_ES_ADDRESS_RE = re.compile(
    rf"(?<![\w/])(?P<kind>{_ES_STREET})(?:(?<=[./º°])\s*|\s+)"
    rf"(?:"
    # Latin American grid form: "Calle 45 #23-11", "Carrera 7 No. 71-21", "Cra 15 # 88-64 sur"
    rf"(?P<grid>\d{{1,3}}\s?[A-Za-z]?(?:\s?bis)?\s*(?:#|n[º°o]\.?|no\.?|n[uú]m(?:ero)?\.?)\s*\d{{1,3}}\s?[A-Za-z]?"
    rf"\s*[-–]\s*\d{{1,3}}(?:\s+(?:sur|norte|este|oeste))?)"
    rf"|"
    rf"(?P<name>(?:(?:{_CONNECT}|{_NAME_WORD})\s+){{0,4}}{_NAME_WORD}|\d{{1,3}})\s*,?\s*"
    rf"(?:n[º°o]\.?\s*|n[uú]m(?:ero)?\.?\s*)?(?P<num>\d{{1,4}}(?:\s?[A-Za-z](?![^\W\d_]))?(?![\w.,]\d)|s/n)(?!\s*{_UNITS}\b)"
    rf")"
    rf"(?:{_ES_EXTRA}){{0,4}}{_POSTAL_TAIL}",
    re.I,
)
_EN_SUFFIX = (r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Place|Pl|Way|"
              r"Terrace|Close|Square|Sq|Crescent|Parkway|Pkwy|Highway|Hwy|Circle|Row|Gardens|Mews|Hill|Park)\b\.?")
_EN_ADDRESS_RE = re.compile(
    rf"(?<![\w])(?:(?i:flat|apt\.?|apartment|unit|suite)\s*\w+,?\s+)?"
    rf"\d{{1,5}}[A-Za-z]?\s+(?P<name>(?:{_NAME_WORD}\s+){{1,3}}){_EN_SUFFIX}"
    rf"(?:,?\s*(?i:apt\.?|apartment|unit|suite|flat|#)\s*\w+)?"
    rf"(?:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+)?(?=\s*(?:,|[.;!?)\n]|$|\s[A-Z]{{1,2}}\d)))?"
    rf"(?:,?\s*(?:[A-Z]{{2}}\s+\d{{5}}(?:-\d{{4}})?|[A-Z]{{1,2}}\d[A-Z\d]?\s?\d[A-Z]{{2}}))?",
)
_POSTCODE_CUE_RE = re.compile(
    r"\b(?:c\.?\s?p\.?|c[oó]digo\s+postal|zip(?:\s+code)?|post\s?code|postal\s+code)\s*:?\s*"
    r"(\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})\b",
    re.I,
)


def find_emails(text: str) -> list[Span]:
    spans = [Span("EMAIL", m.start(), m.end()) for m in _EMAIL_RE.finditer(text)]
    for m in _SPELLED_EMAIL_RE.finditer(text):
        start = m.start()
        tail = None if "@" in m.group() else _EMAIL_CUE_TAIL_RE.search(text, max(0, start - 60), start)
        if tail and tail.end() == start:
            start = tail.start(1)
        spans.append(Span("EMAIL", start, m.end()))
    return spans


def _strip_trailing_punct(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in ".,;:!?)]}'\"»…":
        # keep a closing bracket that has its opening one inside the URL
        if text[end - 1] == ")" and "(" in text[start:end - 1]:
            break
        end -= 1
    return end


def find_urls_handles(text: str) -> list[Span]:
    spans = [Span("URL", m.start(), _strip_trailing_punct(text, m.start(), m.end()))
             for m in _URL_RE.finditer(text)]
    spans += [Span("HANDLE", m.start(), m.end()) for m in _HANDLE_RE.finditer(text)]
    return spans


def _closest_cue(before: str) -> str | None:
    """'phone' or 'order' for the cue that ends nearest to a number, or None."""
    phone = _PHONE_CUE_RE.search(before)
    order = _ORDER_CUE_RE.search(before)
    if phone and order:
        return "phone" if phone.start() > order.start() else "order"
    return "phone" if phone else "order" if order else None


_MAX_GROUPS = 8
_CARD_GROUPINGS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 2), (4, 4, 4, 3),
                   (4, 4, 4, 1), (4, 4, 4, 4, 2), (4, 4, 4, 4, 1)}
_PHONE9_GROUPINGS = {(9,), (3, 3, 3), (3, 2, 2, 2), (2, 3, 2, 2), (3, 6), (2, 7)}
_PHONE10_GROUPINGS = {(3, 3, 4), (2, 4, 4), (3, 3, 2, 2), (3, 4, 3)}


def _classify_number(
    groups: list[str], intl: bool, before: str, after: str, whole_run: bool = True
) -> str | None:
    digits = "".join(groups)
    n = len(digits)
    if n < 7 or n > 19:
        return None  # shorter than any phone, longer than any card: skip the context checks
    sizes = tuple(len(g) for g in groups)
    if not intl:
        if 13 <= n <= 19 and digits[0] in "23456" and (len(groups) == 1 or sizes in _CARD_GROUPINGS) \
                and luhn_is_valid(digits):
            return "CARD"
        if n == 12 and nss_is_valid(digits) and (sizes in {(2, 8, 2), (2, 10)} or _NSS_CUE_RE.search(before)):
            return "NSS"
    if _CURRENCY_BEFORE_RE.search(before) or _CURRENCY_AFTER_RE.search(after):
        return None
    if intl:
        if digits.startswith("00"):
            digits = digits[2:]
            n = len(digits)
        if digits.startswith("34"):
            return "PHONE" if n == 11 and digits[2] in "6789" else None
        return "PHONE" if 8 <= n <= 15 else None
    cue = _closest_cue(before)
    if cue == "order":
        return None
    if n == 9 and digits[0] in "6789" and sizes in _PHONE9_GROUPINGS:
        return "PHONE"
    if n == 10 and digits[0] != "0" and (sizes in _PHONE10_GROUPINGS or (cue == "phone" and len(sizes) == 1)):
        return "PHONE"
    if n == 11 and digits[0] == "1" and sizes == (1, 3, 3, 4):
        return "PHONE"  # North American "1-800-555-0199"
    if n == 11 and digits[0] == "0" and (len(groups) > 1 or digits[1] == "7"):
        return "PHONE"  # UK "07700 900123", "020 7946 0958"
    if cue == "phone" and 7 <= n <= 13 and whole_run:
        return "PHONE"
    return None


def find_numbers(text: str) -> list[Span]:
    """Phones, cards and NSS from runs of digit groups (one pass, validated window by window)."""
    spans: list[Span] = []
    for run in _RUN_RE.finditer(text):
        groups = list(_GROUP_RE.finditer(text, run.start(), run.end()))
        plus = "+" in text[run.start():groups[0].start()]
        i = 0
        while i < len(groups):
            found = False
            # Longest window first, at most _MAX_GROUPS groups: no phone, card or NSS has more, and
            # the bound keeps a long run of numbers ("1 2 3 4 ...") linear instead of quadratic.
            for j in range(min(len(groups), i + _MAX_GROUPS), i, -1):
                # A window may only be cut from a run at whitespace: "405-1234567-1234567" is one code.
                if j < len(groups) and text[groups[j - 1].end():groups[j].start()].strip(" \t()"):
                    continue
                if i > 0 and text[groups[i - 1].end():groups[i].start()].strip(" \t()"):
                    break
                window = [g.group() for g in groups[i:j]]
                intl = (i == 0 and plus) or (window[0].startswith("00") and len("".join(window)) >= 10)
                start = run.start() if i == 0 and plus else groups[i].start()
                end = groups[j - 1].end()
                if end < run.end() and text[end] == ")":
                    end += 1
                before = text[max(0, start - 40):start]
                after = text[end:end + 12]
                kind = _classify_number(window, bool(intl), before, after, i == 0 and j == len(groups))
                if kind:
                    if text[start] != "(" and start > 0 and text[start - 1] == "(" and ")" in text[start:end]:
                        start -= 1  # "(555) 123-4567": keep the parenthesis with the number
                    spans.append(Span(kind, start, end))
                    i = j
                    found = True
                    break
            if not found:
                i += 1
    return spans


def find_ids(text: str) -> list[Span]:
    spans: list[Span] = []
    for m in _DNI_RE.finditer(text):
        number, sep, letter = m.groups()
        if not dni_is_valid(number, letter):
            continue
        # "12345678 y ..." : a lone lower-case y/e/a after a space is usually a Spanish word.
        cue = _ID_CUE_RE.search(text[max(0, m.start() - 30):m.start()])
        if sep and not sep.strip() and letter in "yea" and not cue:
            continue
        spans.append(Span("DNI", m.start(), m.end()))
    for m in _NIE_RE.finditer(text):
        if nie_is_valid(*m.groups()):
            spans.append(Span("NIE", m.start(), m.end()))
    for m in _CIF_RE.finditer(text):
        if not cif_is_valid(m.group()):
            continue
        # A lower-case initial letter is usually a product code; accept it only after "CIF"/"NIF".
        if m.group(1).islower() and not _ID_CUE_RE.search(text[max(0, m.start() - 30):m.start()]):
            continue
        spans.append(Span("CIF", m.start(), m.end()))
    for m in _IBAN_START_RE.finditer(text):
        pos = m.end()
        ends: list[int] = []
        count = 4
        while count < 34:
            chunk = _IBAN_CHUNK_RE.match(text, pos)
            if not chunk:
                break
            pos = chunk.end()
            count += 1
            ends.append(pos)
        for end in reversed(ends):
            if end < len(text) and text[end].isalnum():
                continue  # would cut a word or number in two
            if iban_is_valid(text[m.start():end]):
                spans.append(Span("IBAN", m.start(), end))
                break
    return spans


def find_addresses(text: str) -> list[Span]:
    stop = stop_words()
    spans: list[Span] = []
    for m in _ES_ADDRESS_RE.finditer(text):
        name = m.group("name")
        if name and not name.isdigit():
            words = [w for w in name.split() if w.lower() not in _CONNECTORS]
            lower = all(w.islower() for w in words)
            # "la calle estaba 3 ...", "en la calle y 2 ...": lower-case common words are not streets.
            if not words or (lower and any(w in stop for w in words)):
                continue
            kind = m.group("kind")
            if lower and (len(kind) <= 4 or kind.endswith(".")) and kind.lower() != "c/":
                continue  # abbreviations such as "av." or "pl." need a capitalised street name
        end = _strip_trailing_punct(text, m.start(), m.end())
        spans.append(Span("ADDRESS", m.start(), end))
    for m in _EN_ADDRESS_RE.finditer(text):
        words = m.group("name").split()
        if all(w.islower() for w in words) and any(w in stop for w in words):
            continue
        spans.append(Span("ADDRESS", m.start(), _strip_trailing_punct(text, m.start(), m.end())))
    spans += [Span("ADDRESS", m.start(1), m.end(1)) for m in _POSTCODE_CUE_RE.finditer(text)]
    return spans

