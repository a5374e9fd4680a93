"""PII redaction for Spanish and English customer texts.

Two layers, cheapest first:

1. Regular expressions with validators (no model): e-mails (also spelled out: "juan punto perez
   arroba gmail punto com"), URLs, handles, phones (Spanish with/without +34/0034, Latin American
   and other international numbers), payment cards (Luhn), IBANs (mod-97, also in groups of four),
   Spanish DNI/NIE (check letter, any case, hyphen/space), CIF (control character), NSS (mod-97),
   postal addresses (Spanish, Latin American and English street forms), and person names after a
   cue ("me llamo rosa garcía", "soy pilar", "my name is john smith", "habla con Dolores").
2. spaCy NER (PER / PERSON) in the text's language, run only on the texts where a cheap check says
   a name may be present (see :func:`might_contain_name`).

Every detected span is replaced by a typed placeholder (``[EMAIL]``, ``[PHONE]``, ...). Overlapping
spans are merged into their union (so nothing of an entity stays next to its placeholder) and take
the type of the longest one. ``Redaction.entities`` holds ``(type, start, end)`` offsets on the
ORIGINAL text, never the raw values, so it can be logged.

A leak is worse than an over-redaction: validators only reject what is clearly *not* the entity
(a bad DNI letter, a Luhn-invalid card, a price, an order number after "pedido"/"order").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from analyzer.errors import ConfigError

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

#: Placeholder types, in tie-break priority order (earlier wins when two spans are equally long).
ENTITY_TYPES: tuple[str, ...] = (
    "EMAIL", "URL", "IBAN", "CARD", "NSS", "DNI", "NIE", "CIF", "PHONE", "ADDRESS", "HANDLE", "PERSON",
)
_PRIORITY = {t: i for i, t in enumerate(ENTITY_TYPES)}

# Languages whose spaCy NER we run; for "other"/"und" only the regex layer applies.
_NER_LANGS = ("es", "en")
_NER_LABELS = frozenset({"PER", "PERSON"})


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


@dataclass(frozen=True)
class _Span:
    type: str
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


# --------------------------------------------------------------------------------------------
# Validators
# --------------------------------------------------------------------------------------------

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


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
    expected = _IBAN_LENGTHS.get(compact[:2])
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


_IBAN_LENGTHS = {
    "ES": 24, "AD": 24, "PT": 25, "FR": 27, "IT": 27, "DE": 22, "GB": 22, "IE": 22, "NL": 18,
    "BE": 16, "CH": 21, "AT": 20, "LU": 20, "MC": 27, "SM": 27, "PL": 28, "SE": 24, "DK": 18,
    "NO": 15, "FI": 18, "GR": 27, "CZ": 24, "SK": 24, "RO": 24, "HU": 28, "BR": 29, "DO": 28,
    "CR": 22, "GT": 28, "SV": 28,
}

# --------------------------------------------------------------------------------------------
# Regular expressions
# --------------------------------------------------------------------------------------------

_L = r"[^\W\d_]"  # one letter, any script
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

# Person names ------------------------------------------------------------------------------
# Strong cues: whatever name-like words follow are a name ("me llamo rosa garcía").
_STRONG_CUE_RE = re.compile(
    r"\b(?:me\s+llamo|mi\s+nombre\s+es|nombre\s*:|my\s+name\s+is|my\s+name's|name\s*:|a\s+nombre\s+de|"
    r"in\s+the\s+name\s+of|sr\.|sra\.|srta\.|mr\.|mrs\.|dr\.|dra\.|d[ñn]a\.)\s*(?<=\s|\.)",
    re.I,
)
# Weak cues: the next word is a name only if it is capitalised or a known first name ("soy pilar",
# "habla con Dolores", "thanks Phil"). Titles without a dot ("miss", "don") are weak: "I miss my bag".
_WEAK_CUE_RE = re.compile(
    r"\b(?:soy|i\s+am|i'm|i’m|im|this\s+is|it's|aqu[ií]|hola|buenas|gracias|thanks|thank\s+you|hi|hello|hey|"
    r"dear|estimad[oa]|querid[oa]|saludos|atte\.?|atentamente|regards|cheers|sincerely|"
    r"habla(?:r|d|n)?\s+con|habl[eé]\s+con|hablamos\s+con|pregunt(?:a|e|en|ad|ar)\s+por|atendid[oa]\s+por|"
    r"me\s+atendi[oó]|nos\s+atendi[oó]|le\s+atendi[oó]|ask\s+for|spoke\s+(?:to|with)|talked\s+(?:to|with)|"
    r"speak\s+(?:to|with)|served\s+by|helped\s+by|se[ñn]or(?:a|ita)?|don|do[ñn]a|mr|mrs|ms|miss|dr|dra|"
    r"agente|agent|operador[a]?|t[eé]cnico|repartidor[a]?|comercial|mensajero|courier|driver|conductor[a]?|"
    r"compa[ñn]er[oa]|mi\s+(?:mujer|marido|esposa|esposo|hij[oa]|madre|padre|herman[oa])|"
    r"my\s+(?:wife|husband|son|daughter|mother|father|brother|sister))[ \t,:]+",
    re.I,
)
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*\.?|[^\s]")
_CAPITALISED_RE = re.compile(r"(?<![\w@#])[A-ZÁÉÍÓÚÑÜ][a-záéíóúñü]+")
_SENTENCE_LEAD_RE = re.compile(r"(?:(?:[@#]\w+|https?://\S+)[\s:,]*)+$")
_CONTRACTION_RE = re.compile(r"['’](?:ll|d|re|ve|s|m|t)$|n['’]t$", re.I)

def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_FIRST_NAMES = _wordset(
    """
    adrián adriana agustín alba alberto alejandra alejandro alicia almudena álvaro amparo ana andrea andrés
    ángel ángela ángeles antonia antonio ariadna aurora beatriz belén blanca camila carla carlos carmen
    carolina catalina cecilia celia clara claudia concepción consuelo cristina cristian daniel daniela david
    diana diego dolores eduardo elena elisa emilio encarnación enrique esperanza esteban eva fátima federico
    felipe fernando francisco gabriel gabriela gloria gonzalo guadalupe guillermo gustavo héctor hugo ignacio
    inés irene isabel iván jaime javier jesús joaquín jorge josé josefa juan juana julia julián julio laura
    leticia lidia lorena lorenzo lucas lucía luis luisa luz manuel manuela marcos margarita maría mariana
    marina mario marisol marta martín martina mateo mercedes miguel milagros mónica montserrat natalia nerea
    nicolás nieves noelia nuria óscar pablo paloma paola patricia paula pedro pilar rafael ramón raquel raúl
    rebeca remedios ricardo roberto rocío rodrigo rosa rosario rubén salvador samuel santiago sara sergio
    silvia sofía soledad sonia susana teresa tomás valentina valeria verónica vicente víctor victoria
    virginia ximena yolanda
    aaron adam alan albert alex alexander alice amanda amy andrew angela anna anne anthony ashley barbara
    ben benjamin betty brian carol catherine charles charlotte chris christopher daniel david deborah
    dennis donna dorothy edward elizabeth emily emma eric ethan frank gary george grace hannah harry helen
    henry jack jacob james jane janet jason jeff jennifer jessica joe john jonathan joseph joshua julie
    justin karen kate katherine kelly kevin kimberly laura lauren linda lisa mark mary matthew megan
    melissa michael michelle mike nancy nicholas nicole olivia patrick paul peter rachel rebecca richard
    robert ryan sam samantha sandra sarah scott sharon sophia stephanie steve steven susan thomas tim
    timothy tom tyler victoria william
    """
)
# Capitalised words that are not names even after a cue (greetings, sign-offs, pronouns, months, ...).
_NOT_NAMES = _wordset(
    """
    hola buenas buenos días dia día tardes noches gracias thanks thank hi hello hey dear please favor por
    saludos regards cheers atentamente sincerely un una el la los las de del y o que mi mis tu su sus
    cliente customer client usuario user agente agent equipo team servicio service soporte support
    atención atencion señor señora sr sra don doña mr mrs ms miss dr lunes martes miércoles jueves viernes
    sábado domingo enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre
    monday tuesday wednesday thursday friday saturday sunday january february march april june july
    august september october november december ok okay vale si sí no yes not very muy bastante super
    llama call llamar pedido order cuenta account tarjeta card
    """
)


# Brands and platforms customers name all the time and that the small NER models tag as persons.
# They must stay in the text (they carry the complaint's target) and are never a person's name.
_BRANDS = _wordset(
    """
    amazon apple google facebook instagram twitter whatsapp tiktok youtube netflix spotify paypal bizum
    movistar vodafone orange yoigo jazztel telefonica telefónica digi masmovil lowi pepephone simyo o2
    iberia vueling ryanair easyjet avianca aeromexico aeroméxico latam norwegian renfe uber cabify glovo
    zara mercadona carrefour lidl aliexpress shein ikea decathlon correos seur mrw dhl ups fedex gls
    united southwest delta jetblue virgin american alaska spirit frontier hawaiian expedia airbnb booking
    iphone samsung xiaomi huawei endesa iberdrola naturgy santander bbva caixabank sabadell ing
    """
)


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    # spaCy's stop-word lists are plain Python sets: importing them does not load a model.
    # import_spacy first, so that this import does not pull PyTorch in through thinc.
    from analyzer.text.sentences import import_spacy

    import_spacy()
    from spacy.lang.en.stop_words import STOP_WORDS as EN
    from spacy.lang.es.stop_words import STOP_WORDS as ES

    return frozenset(ES | EN | _NOT_NAMES) - _FIRST_NAMES


# --------------------------------------------------------------------------------------------
# Detectors
# --------------------------------------------------------------------------------------------


def _find_emails(text: str) -> list[_Span]:
    spans = [_Span("EMAIL", m.start(), m.end()) for m in _EMAIL_RE.finditer(text)]
    for m in _SPELLED_EMAIL_RE.finditer(text):
        start = m.start()
        tail = None if "@" in m.group() else _EMAIL_CUE_TAIL_RE.search(text, max(0, start - 60), start)
        if tail and tail.end() == start:
            start = tail.start(1)
        spans.append(_Span("EMAIL", start, m.end()))
    return spans


def _strip_trailing_punct(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in ".,;:!?)]}'\"»…":
        # keep a closing bracket that has its opening one inside the URL
        if text[end - 1] == ")" and "(" in text[start:end - 1]:
            break
        end -= 1
    return end


def _find_urls_handles(text: str) -> list[_Span]:
    spans = [_Span("URL", m.start(), _strip_trailing_punct(text, m.start(), m.end()))
             for m in _URL_RE.finditer(text)]
    spans += [_Span("HANDLE", m.start(), m.end()) for m in _HANDLE_RE.finditer(text)]
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


def _find_numbers(text: str) -> list[_Span]:
    """Phones, cards and NSS from runs of digit groups (one pass, validated window by window)."""
    spans: list[_Span] = []
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
                    spans.append(_Span(kind, start, end))
                    i = j
                    found = True
                    break
            if not found:
                i += 1
    return spans


def _find_ids(text: str) -> list[_Span]:
    spans: list[_Span] = []
    for m in _DNI_RE.finditer(text):
        number, sep, letter = m.groups()
        if not dni_is_valid(number, letter):
            continue
        # "12345678 y ..." : a lone lower-case y/e/a after a space is usually a Spanish word.
        cue = _ID_CUE_RE.search(text[max(0, m.start() - 30):m.start()])
        if sep and not sep.strip() and letter in "yea" and not cue:
            continue
        spans.append(_Span("DNI", m.start(), m.end()))
    for m in _NIE_RE.finditer(text):
        if nie_is_valid(*m.groups()):
            spans.append(_Span("NIE", m.start(), m.end()))
    for m in _CIF_RE.finditer(text):
        if not cif_is_valid(m.group()):
            continue
        # A lower-case initial letter is usually a product code; accept it only after "CIF"/"NIF".
        if m.group(1).islower() and not _ID_CUE_RE.search(text[max(0, m.start() - 30):m.start()]):
            continue
        spans.append(_Span("CIF", m.start(), m.end()))
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
                spans.append(_Span("IBAN", m.start(), end))
                break
    return spans


def _find_addresses(text: str) -> list[_Span]:
    stop = _stop_words()
    spans: list[_Span] = []
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
        spans.append(_Span("ADDRESS", m.start(), end))
    for m in _EN_ADDRESS_RE.finditer(text):
        words = m.group("name").split()
        if all(w.islower() for w in words) and any(w in stop for w in words):
            continue
        spans.append(_Span("ADDRESS", m.start(), _strip_trailing_punct(text, m.start(), m.end())))
    spans += [_Span("ADDRESS", m.start(1), m.end(1)) for m in _POSTCODE_CUE_RE.finditer(text)]
    return spans


def _name_tokens(text: str, pos: int, strong: bool, max_tokens: int = 4) -> _Span | None:
    """The name that starts at ``pos`` (right after a cue), or None."""
    stop = _stop_words()
    start = end = -1
    taken = 0
    for tok in _WORD_RE.finditer(text, pos):
        word = tok.group()
        gap = text[end:tok.start()] if taken else text[pos:tok.start()]
        if taken and gap not in (" ", "\t"):
            break  # a comma, a full stop or a line break ends the name
        bare = word.rstrip(".")
        if not bare or not bare[0].isalpha() or (len(bare) < 2 and not word.endswith(".")):
            break
        low = bare.lower()
        if _CONTRACTION_RE.search(low):
            break  # "I'll", "couldn't"
        capital = (bare[0].isupper() and not bare.isupper()) or (bare.isupper() and len(bare) > 2)
        if low in stop or low in _BRANDS:
            break
        if taken == 0 and not strong and not (capital or low in _FIRST_NAMES):
            break
        if taken and not strong and not capital and word[0].islower() and low not in _FIRST_NAMES \
                and text[start].isupper():
            break  # "Soy Pilar y llevo ...": after a capitalised name, lower-case words are not surnames
        if taken == 0:
            start = tok.start()
        end = tok.start() + len(bare)
        taken += 1
        if taken >= max_tokens:
            break
    return _Span("PERSON", start, end) if taken else None


def _find_cued_names(text: str) -> list[_Span]:
    spans: list[_Span] = []
    for regex, strong in ((_STRONG_CUE_RE, True), (_WEAK_CUE_RE, False)):
        for m in regex.finditer(text):
            span = _name_tokens(text, m.end(), strong)
            if span:
                spans.append(span)
    return spans


def _at_sentence_start(text: str, pos: int) -> bool:
    """True when only whitespace, handles or URLs separate ``pos`` from a sentence boundary."""
    before = text[max(0, pos - 200):pos].rstrip()
    before = _SENTENCE_LEAD_RE.sub("", before).rstrip()
    return not before or before[-1] in ".!?¡¿:;\n\"«(…"


def might_contain_name(text: str) -> bool:
    """Cheap gate for spaCy NER: a name cue, or a capitalised word that does not open a sentence.

    Most chat and review messages have neither, and skipping NER on them is what keeps batch
    redaction above a few hundred texts per second on two cores. The gate errs on the side of
    running NER (a leak is worse than a wasted NER call).
    """
    if _STRONG_CUE_RE.search(text) or _WEAK_CUE_RE.search(text):
        return True
    stop = _stop_words()
    for m in _CAPITALISED_RE.finditer(text):
        word = m.group().lower()
        if word in _FIRST_NAMES or (word not in stop and not _at_sentence_start(text, m.start())):
            return True
    return False


def _ner_spans(doc: object, text: str) -> list[_Span]:
    stop = _stop_words()
    spans: list[_Span] = []
    for ent in doc.ents:  # type: ignore[attr-defined]
        if ent.label_ not in _NER_LABELS:
            continue
        toks = [t for t in ent if not (t.is_punct or t.is_space)]
        # trim greetings and verbs the small models glue to names ("Call Mary", "hostia Norwegian")
        while toks and (toks[0].text.lower() in stop or toks[0].text.islower()):
            toks = toks[1:]
        while toks and (toks[-1].text.lower() in stop or toks[-1].text.islower()):
            toks = toks[:-1]
        if not toks or (len(toks) == 1 and len(toks[0].text.rstrip(".")) < 2):
            continue
        if any(t.text.lower() in _BRANDS for t in toks):
            continue
        if len(toks) == 1 and toks[0].text.isupper() and toks[0].text.lower() not in _FIRST_NAMES:
            continue  # "JFK", "CR": codes and acronyms
        start, end = toks[0].idx, toks[-1].idx + len(toks[-1].text)
        surface = text[start:end]
        if any(c.isdigit() for c in surface) or surface.startswith(("@", "#")) or "http" in surface:
            continue
        if not any(c.isupper() for c in surface):
            continue  # the small models' lower-case PER guesses are mostly common words
        if len(toks) == 1 and surface.lower() not in _FIRST_NAMES and _at_sentence_start(text, start):
            continue  # one capitalised word opening a sentence ("Deberían", "Mala"): usually not a name
        spans.append(_Span("PERSON", start, end))
    return spans


def _regex_spans(text: str) -> list[_Span]:
    return (
        _find_emails(text)
        + _find_urls_handles(text)
        + _find_ids(text)
        + _find_numbers(text)
        + _find_addresses(text)
        + _find_cued_names(text)
    )


def _merge(spans: list[_Span]) -> list[_Span]:
    """Merge overlapping spans into their union, typed after the longest (ties: ENTITY_TYPES order)."""
    spans = [s for s in spans if s.end > s.start]
    spans.sort(key=lambda s: (s.start, -s.length, _PRIORITY[s.type]))
    merged: list[tuple[int, int, _Span]] = []  # (start, end, representative)
    for s in spans:
        if merged and s.start < merged[-1][1]:
            start, end, best = merged[-1]
            if (s.length, -_PRIORITY[s.type]) > (best.length, -_PRIORITY[best.type]):
                best = s
            merged[-1] = (start, max(end, s.end), best)
        else:
            merged.append((s.start, s.end, s))
    return [_Span(best.type, start, end) for start, end, best in merged]


def _apply(text: str, spans: list[_Span]) -> Redaction:
    merged = _merge(spans)
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
    return [(s.type, s.start, s.end) for s in _merge(_regex_spans(text))]


def redact_batch(
    texts: Sequence[str], langs: Sequence[str], *, use_ner: bool = True, batch_size: int = 256
) -> list[Redaction]:
    """Redact many texts; ``langs[i]`` ("es", "en", "other", "und") picks the NER model for ``texts[i]``.

    The regex layer runs on every text. spaCy NER runs only on es/en texts that pass
    :func:`might_contain_name`, batched per language with every other pipeline component disabled.
    Non-string items are treated as empty texts.
    """
    if len(texts) != len(langs):
        raise ConfigError(
            f"redact_batch needs one language per text; got {len(texts)} texts and {len(langs)} langs."
        )
    items = [t if isinstance(t, str) else "" for t in texts]
    spans = [_regex_spans(t) for t in items]
    if use_ner:
        from analyzer.text.sentences import components_for, load_pipeline

        for lang in _NER_LANGS:
            idx = [i for i, (t, lg) in enumerate(zip(items, langs, strict=True))
                   if lg == lang and t and might_contain_name(t)]
            if not idx:
                continue
            nlp = load_pipeline(lang)
            disable = components_for(nlp, ("ner",))
            for i, doc in zip(idx, nlp.pipe((items[i] for i in idx), disable=disable, batch_size=batch_size),
                              strict=True):
                spans[i] += _ner_spans(doc, items[i])
    return [_apply(t, s) for t, s in zip(items, spans, strict=True)]


def redact(text: str, lang: str, *, use_ner: bool = True) -> Redaction:
    """Redact one text (see :func:`redact_batch`)."""
    return redact_batch([text], [lang], use_ner=use_ner)[0]
