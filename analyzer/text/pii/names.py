"""Person names: cue rules, name lists, and the gate and filter around spaCy NER.

Two ways a name is found here, cheapest first:

1. a cue and the name-like words after it ("me llamo rosa garcía", "soy pilar", "my name is
   john smith", "habla con Dolores"): :func:`find_cued_names`;
2. spaCy NER (PER / PERSON), run by :mod:`analyzer.text.pii.redaction` only on the texts that
   :func:`might_contain_name` lets through; :func:`ner_person_spans` keeps the entities that
   are names (not greetings, brands, codes or a capitalised word opening a sentence).
"""

from __future__ import annotations

import re
from functools import lru_cache

from analyzer.text.pii.spans import Span

__all__ = ["find_cued_names", "might_contain_name", "ner_person_spans", "stop_words"]

# spaCy entity labels that are person names (PER in the Spanish model, PERSON in the English one).
_NER_LABELS = frozenset({"PER", "PERSON"})

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
def stop_words() -> frozenset[str]:
    """Spanish and English stop words and words that are never names, minus the known first names."""
    # spaCy's stop-word lists are plain Python sets: importing them does not load a model.
    # import_spacy first, so that this import does not pull PyTorch in through thinc.
    from analyzer.text.sentences import import_spacy

    import_spacy()
    from spacy.lang.en.stop_words import STOP_WORDS as EN
    from spacy.lang.es.stop_words import STOP_WORDS as ES

    return frozenset(ES | EN | _NOT_NAMES) - _FIRST_NAMES


def _name_tokens(text: str, pos: int, strong: bool, max_tokens: int = 4) -> Span | None:
    """The name that starts at ``pos`` (right after a cue), or None."""
    stop = stop_words()
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
    return Span("PERSON", start, end) if taken else None


def find_cued_names(text: str) -> list[Span]:
    """Names after a strong cue (any name-like words) or a weak cue (capitalised or known first names)."""
    spans: list[Span] = []
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
    stop = stop_words()
    for m in _CAPITALISED_RE.finditer(text):
        word = m.group().lower()
        if word in _FIRST_NAMES or (word not in stop and not _at_sentence_start(text, m.start())):
            return True
    return False


def ner_person_spans(doc: object, text: str) -> list[Span]:
    """The PER/PERSON entities of a spaCy ``doc`` of ``text`` that are names, trimmed to the name itself."""
    stop = stop_words()
    spans: list[Span] = []
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
        spans.append(Span("PERSON", start, end))
    return spans

