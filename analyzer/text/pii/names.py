"""Person names: cue rules, name lists, and the gate and filter around spaCy NER.

Three ways a name is found here, cheapest first:

1. a cue and the name-like words after it ("me llamo rosa garcía", "soy pilar", "my name is
   john smith", "habla con Dolores", "hablé con juan pérez"): :func:`find_names`;
2. a known first name followed by a known surname, in any case and without a cue ("llamé a juan
   perez", "john smith from support"): :func:`find_names` too. Name lists are matched without
   accents, and names that are ordinary words ("rosa", "blanco", "mark", "brown") need more
   evidence: a cue, or capitals;
3. spaCy NER (PER / PERSON), run by :mod:`analyzer.text.pii.redaction` only on the texts that
   :func:`might_contain_name` lets through; :func:`ner_person_spans` keeps the entities that
   are names (not greetings, brands, codes or a capitalised word opening a sentence).
"""

from __future__ import annotations

import re
from functools import lru_cache

from analyzer.text.pii.spans import Span

__all__ = ["find_names", "might_contain_name", "ner_person_spans", "stop_words"]

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
    r"habl(?:a|ar|ad|an|o|[eé]|amos|ando)\s+con|pregunt(?:a|e|en|ad|ar)\s+por|atendid[oa]\s+por|"
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


_FOLD = str.maketrans("áéíóúü", "aeiouu")
# the same, and punctuation to spaces: words of a text by str.split
_FOLD_SPLIT = str.maketrans({**{ord(a): b for a, b in zip("áéíóúü", "aeiouu", strict=True)},
                             **{ord(c): " " for c in ".,;:!?¡¿\"'()[]{}<>/\\|@#*«»…“”‘’-_=+~^`"}})


def _fold(word: str) -> str:
    """Lower case without acute accents or diaeresis (ñ stays): chats often drop the accents of names."""
    return word.lower().translate(_FOLD)


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


def _folded(words: str) -> frozenset[str]:
    return frozenset(_fold(w) for w in words.split())


# Common first names of Spain, Latin America, the UK and the US (and their chat short forms).
# Not here: names that are frequent Spanish or English words in lower case ("ella", "mia", "dan",
# "sean", "paz", "will", "may"): a cue or NER has to find those.
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
    sebastián matías benjamín emiliano thiago santino valentín agustina florencia josefina renata jimena
    emilia eugenia lourdes maribel miriam noemí olga pamela tatiana vanesa viviana graciela marcela estela
    silvana abel elías isaac ismael moisés saúl simón arturo alfonso alfredo ernesto gerardo mauricio marcelo
    rodolfo horacio ramiro patricio teodoro ulises camilo cristóbal benito hernán aitor iker unai ainhoa
    lola pepe paco manolo nacho rafa javi dani fran quique toni marc jordi pau sergi xavier montse mireia
    laia maite marisa charo lupe
    liam noah oliver elijah logan aiden jackson sebastian owen luke dylan nathan caleb connor evan ian adrian
    colin gavin kyle shane brandon derek travis troy craig keith neil greg gregory jeffrey larry terry jerry
    randy roger russell ralph roy bruce carl harold howard lawrence louis philip phil stanley walter wayne
    jim jimmy dave matt josh jake nate tony joey johnny charlie abigail ava madison chloe zoe natalie leah
    hailey brittany courtney erin heather jenny jess katie kathy kim kristen lindsay molly natasha shannon
    tiffany tracy vanessa wendy whitney debbie diane judy joan joyce kathleen martha marie ruth janice
    cheryl beverly denise marilyn
    """
)
_FIRST_FOLDED = frozenset(_fold(w) for w in _FIRST_NAMES)

# Frequent surnames of Spain, Latin America, the UK and the US, folded.
_SURNAMES = _folded(
    """
    garcía rodríguez gonzález fernández lópez martínez sánchez pérez gómez martín jiménez ruiz hernández díaz
    moreno muñoz álvarez romero alonso gutiérrez navarro torres domínguez vázquez ramos gil ramírez serrano
    blanco molina morales suárez ortega delgado castro ortiz rubio marín sanz núñez iglesias medina garrido
    cortés castillo santos lozano guerrero cano prieto méndez cruz calvo gallego vidal león márquez herrera
    peña flores cabrera campos vega fuentes carrasco díez caballero reyes nieto aguilar pascual santana
    herrero lorenzo montero hidalgo giménez ibáñez ferrer durán santiago benítez mora vicente vargas arias
    carmona crespo román pastor soto sáez velasco moya soler parra esteban bravo gallardo rojas pardo merino
    franco espinosa lara rivas silva rivera camacho arroyo mendoza aguirre acosta chávez ríos figueroa
    salazar sandoval contreras espinoza guzmán valencia cárdenas ospina restrepo quintero mejía zapata
    orozco montoya castaño osorio cortez maldonado ayala escobar miranda paredes salinas bermúdez quiroga
    sosa ponce benavides godoy farías pizarro tapia araya valenzuela villalobos solís palacios rosales
    smith johnson williams brown jones miller davis wilson anderson taylor thomas moore jackson lee
    thompson white harris clark clarke lewis robinson walker young allen wright scott green baker adams
    nelson hill campbell mitchell roberts carter phillips evans turner parker collins edwards stewart
    morris murphy cook rogers morgan cooper peterson bailey reed kelly howard cox ward richardson watson
    brooks wood bennett gray grey hughes price sanders myers ross foster powell jenkins perry russell
    sullivan bell coleman butler henderson barnes fisher hamilton graham wallace cole hayes gibson ellis
    stevens murray marshall owens harrison kennedy walsh byrne doyle lynch davies griffiths hall king
    palmer mason holmes knight lloyd mills webb simpson stone hunt rose black dixon hart payne fox shaw
    hunter burns gordon dunn rice warren hawkins hopkins chapman burke quinn o'brien o'connor connor patel
    """
)

# First names and surnames that are also ordinary Spanish or English words in lower case ("rosa",
# "pilar", "linda", "mark", "blanco", "flores", "brown"). A pair made only of these is a name only
# when capitalised ("Rosa Blanco"): "la rosa blanco y negro", "mark brown as delivered".
_WORDLIKE = _folded(
    """
    rosa pilar blanca dolores luz mercedes victoria gloria rocío soledad consuelo esperanza milagros
    remedios amparo aurora nieves salvador ángeles ángel concepción encarnación rosario jesús tomás
    santiago paloma marina alba clara diana julio margarita belén linda lisa bárbara lola nacho pau
    mark frank grace jack victoria carol charlie judy joyce joy
    blanco moreno rubio cano calvo gallego león peña flores campos vega fuentes nieto pastor crespo bravo
    santos cruz castillo reyes herrero ríos rojas parra mora gil díez roman pascual prieto serrano ramos
    iglesias torres morales delgado guerrero caballero cortés hidalgo montero franco pardo merino arias
    arroyo castaño paredes sosa tapia medina soto palacios rosales
    brown white young green baker hill cook wood bell gray grey price rose black stone hunt fox mason hart
    rice burns mills king hall brooks fisher walker hunter palmer cole turner carter cooper parker
    """
)
_CONNECTOR_WORDS = frozenset({"de", "del", "la", "las", "los"})  # "de la fuente", "del río"
# Common words that may follow a name in lower case and are in no stop-word list: a name stops there.
_AFTER_NAMES = _wordset(
    """
    ayer anoche anteayer mañana semana mes año días horas minutos yesterday today tomorrow tonight morning
    afternoon evening night week month year earlier later twice
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
) | _AFTER_NAMES


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


def _is_surname(word: str) -> bool:
    """A known surname, also as part of a hyphenated one ("pérez-reverte", "johnson-smith")."""
    folded = _fold(word)
    return folded in _SURNAMES or ("-" in folded and any(part in _SURNAMES for part in folded.split("-")))


def _name_tokens(text: str, pos: int, strong: bool, max_tokens: int = 4) -> Span | None:
    """The name that starts at ``pos`` (right after a cue), or None."""
    stop = stop_words()
    start = end = -1
    taken = 0
    only_first_names = True  # every word taken so far is a known first name
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
        first_name = _fold(low) in _FIRST_FOLDED
        if taken == 0 and not strong and not (capital or first_name):
            break
        if taken and not strong and not capital and word[0].islower() and not (first_name or _is_surname(low)):
            if text[start].isupper():
                break  # "Soy Pilar y llevo ...": after a capitalised name, unknown lower-case words are not surnames
            if not only_first_names:
                break  # "con juan pérez llamando": one unknown word may be a surname, not one after a surname
        # a second word that is a surname too ("sarah connor", "juan martín") fills the surname slot
        only_first_names = only_first_names and first_name and not (taken and _is_surname(low))
        if taken == 0:
            start = tok.start()
        end = tok.start() + len(bare)
        taken += 1
        if taken >= max_tokens:
            break
    return Span("PERSON", start, end) if taken else None


def _find_cued_names(text: str) -> list[Span]:
    """Names after a strong cue (any name-like words) or a weak cue (capitalised or known first names)."""
    spans: list[Span] = []
    for regex, strong in ((_STRONG_CUE_RE, True), (_WEAK_CUE_RE, False)):
        for m in regex.finditer(text):
            span = _name_tokens(text, m.end(), strong)
            if span:
                spans.append(span)
    return spans


def _find_name_pairs(text: str) -> list[Span]:
    """Known first names followed by known surnames, without a cue and in any case.

    "llamé a juan pérez", "juan carlos garcía me dijo", "john smith from support", "maría de la
    cruz": one or more first names, then surnames (each may follow "de", "del", "de la", ...), all
    one space apart. A pair made only of names that are ordinary words ("rosa blanco", "mark
    brown") counts only when every word of it is capitalised.
    """
    if _FIRST_FOLDED.isdisjoint(text.lower().translate(_FOLD_SPLIT).split()):
        return []  # most texts: no first name at all (str.split is several times faster than a regex)
    # (start, end, folded word) of each word, a trailing full stop left out
    toks = [(m.start(), m.start() + len(m.group().rstrip(".")), _fold(m.group().rstrip(".")))
            for m in _WORD_RE.finditer(text)]

    def joined(k: int) -> bool:  # token k and k + 1 are one space (or tab) apart
        return k + 1 < len(toks) and text[toks[k][1]:toks[k + 1][0]] in (" ", "\t")

    spans: list[Span] = []
    i = 0
    while i < len(toks):
        if toks[i][2] not in _FIRST_FOLDED:
            i += 1
            continue
        last, surnames = i, 0
        while joined(last):
            k = last + 1
            if toks[k][2] in ("de", "del") and joined(k):
                k += 1
                if toks[k - 1][2] == "de" and toks[k][2] in ("la", "las", "los") and joined(k):
                    k += 1
            if _is_surname(toks[k][2]):
                surnames += 1
            elif surnames or toks[k][2] not in _FIRST_FOLDED:
                break  # first names come before the surnames: "juan carlos pérez", "maría del carmen garcía"
            last = k
        if surnames:
            words = [text[a:b] for a, b, w in toks[i:last + 1] if w not in _CONNECTOR_WORDS]
            ordinary = all(_fold(w) in _WORDLIKE for w in words)
            if not ordinary or all(w[:1].isupper() and not w.isupper() for w in words):
                spans.append(Span("PERSON", toks[i][0], toks[last][1]))
        i = last + 1
    return spans


def find_names(text: str) -> list[Span]:
    """Person names the rules find without a model: after a cue, or a known first name and surname."""
    return _find_cued_names(text) + _find_name_pairs(text)


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
        if _fold(word) in _FIRST_FOLDED or (word not in stop and not _at_sentence_start(text, m.start())):
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
        if len(toks) == 1 and toks[0].text.isupper() and _fold(toks[0].text) not in _FIRST_FOLDED:
            continue  # "JFK", "CR": codes and acronyms
        start, end = toks[0].idx, toks[-1].idx + len(toks[-1].text)
        surface = text[start:end]
        if any(c.isdigit() for c in surface) or surface.startswith(("@", "#")) or "http" in surface:
            continue
        if not any(c.isupper() for c in surface):
            continue  # the small models' lower-case PER guesses are mostly common words
        if len(toks) == 1 and _fold(surface) not in _FIRST_FOLDED and _at_sentence_start(text, start):
            continue  # one capitalised word opening a sentence ("Deberían", "Mala"): usually not a name
        spans.append(Span("PERSON", start, end))
    return spans

