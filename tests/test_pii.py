"""PII redaction: labelled Spanish/English cases, validators, merging, the NER gate, spaCy loading."""

from __future__ import annotations

import math

import pytest

from analyzer.errors import ConfigError, ModelNotFoundError
from analyzer.evaluation.pii import COLUMNS, evaluate_pii, score_cases
from analyzer.evaluation.pii_cases import PII_CASES, PiiCase
from analyzer.text import sentences as spacy_models
from analyzer.text.pii import (
    ENTITY_TYPES,
    Redaction,
    cif_is_valid,
    dni_is_valid,
    find_entities,
    iban_is_valid,
    luhn_is_valid,
    might_contain_name,
    nie_is_valid,
    nss_is_valid,
    redact,
    redact_batch,
)
from analyzer.text.pii.spans import Span, merge_spans


@pytest.fixture(scope="session")
def nlp_loaded() -> None:
    """Load both spaCy pipelines once per session (they are cached process-wide)."""
    spacy_models.load_pipeline("es")
    spacy_models.load_pipeline("en")


@pytest.fixture(scope="session")
def case_redactions(nlp_loaded: None) -> dict[str, Redaction]:
    reds = redact_batch([c.text for c in PII_CASES], [c.lang for c in PII_CASES])
    return {c.id: r for c, r in zip(PII_CASES, reds, strict=True)}


def _leaked_chars(case: PiiCase, red: Redaction, start: int, end: int) -> str:
    return "".join(
        case.text[i] for i in range(start, end)
        if not case.text[i].isspace() and not any(s <= i < e for _, s, e in red.entities)
    )


# ---------------------------------------------------------------------------- labelled cases


def test_case_list_covers_both_languages_and_every_type() -> None:
    assert sum(c.lang == "es" for c in PII_CASES) >= 40
    assert sum(c.lang == "en" for c in PII_CASES) >= 30
    assert len({c.id for c in PII_CASES}) == len(PII_CASES), "case ids must be unique"
    seen = {t for c in PII_CASES for t, _ in c.entities}
    assert seen == set(ENTITY_TYPES)
    assert sum(1 for c in PII_CASES if not c.entities) >= 15, "need must-stay-untouched negatives"


@pytest.mark.parametrize("case", [c for c in PII_CASES if c.entities], ids=lambda c: c.id)
def test_entity_is_fully_redacted_with_its_type(case: PiiCase, case_redactions: dict[str, Redaction]) -> None:
    red = case_redactions[case.id]
    for etype, start, end in case.spans():
        value = case.text[start:end]
        assert _leaked_chars(case, red, start, end) == "", f"{etype} {value!r} leaked in {red.text!r}"
        assert value not in red.text
        covering = [t for t, s, e in red.entities if s <= start and end <= e]
        assert covering == [etype], f"{value!r} should be one [{etype}] span, got {red.entities}"
        assert f"[{etype}]" in red.text


@pytest.mark.parametrize("case", [c for c in PII_CASES if c.keep], ids=lambda c: c.id)
def test_must_stay_untouched(case: PiiCase, case_redactions: dict[str, Redaction]) -> None:
    red = case_redactions[case.id]
    for keep in case.keep:
        assert keep in red.text, f"{keep!r} was altered: {red.text!r}"
    if not case.entities:
        assert red.text == case.text
        assert red.entities == []


def test_entities_are_offsets_on_the_original_text(case_redactions: dict[str, Redaction]) -> None:
    case = next(c for c in PII_CASES if len(c.entities) >= 3)
    red = case_redactions[case.id]
    assert all(isinstance(s, int) and isinstance(e, int) for _, s, e in red.entities)
    # rebuilding the redacted text from the offsets gives the same text
    out, pos = [], 0
    for etype, s, e in red.entities:
        out += [case.text[pos:s], f"[{etype}]"]
        pos = e
    assert "".join([*out, case.text[pos:]]) == red.text
    assert red.types == [t for t, _, _ in red.entities]


# ---------------------------------------------------------------------------- specific behaviour


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("llámame al 612 345 678", "llámame al [PHONE]"),
        ("pedido 612 345 678", "pedido 612 345 678"),
        ("cuesta 612.345.678 €", "cuesta 612.345.678 €"),
        ("DNI 12345678z", "DNI [DNI]"),
        ("DNI 12345678B", "DNI 12345678B"),
        ("IBAN es91 2100 0418 4502 0005 1332.", "IBAN [IBAN]."),
        ("iban ES91 2100 0418 4502 0005 1333", "iban ES91 2100 0418 4502 0005 1333"),
        ("tarjeta 4000 0566 5566 5556", "tarjeta [CARD]"),
        ("+34612345678 y 0034612345678", "[PHONE] y [PHONE]"),
        ("pedido 12345678 y nada más", "pedido 12345678 y nada más"),
    ],
)
def test_regex_layer(text: str, expected: str) -> None:
    assert redact(text, "es", use_ner=False).text == expected


def test_cue_names_do_not_need_spacy() -> None:
    red = redact("hola, me llamo rosa garcía y soy clienta", "es", use_ner=False)
    assert red.text == "hola, me llamo [PERSON] y soy clienta"
    assert redact("i'm angry about my order", "en", use_ner=False).entities == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # lower-case first and last names after a cue, and known first names followed by a surname
        ("hablé con juan pérez ayer", "hablé con [PERSON] ayer"),
        ("my name is john smith", "my name is [PERSON]"),
        ("juan carlos garcía me dijo que sí", "[PERSON] me dijo que sí"),
        ("le pasé el caso a jose luis martinez", "le pasé el caso a [PERSON]"),
        ("JUAN GARCIA no contesta", "[PERSON] no contesta"),
        ("pedro pérez-reverte escribió", "[PERSON] escribió"),
        ("Soy Pilar garcía y llevo esperando", "Soy [PERSON] y llevo esperando"),
        ("hablé con juan berrocal ayer", "hablé con [PERSON] ayer"),  # an unknown surname after a cue
        ("hablé con juan pérez llamando al banco", "hablé con [PERSON] llamando al banco"),
        ("Pregunté a Rosa Blanco por el pedido", "Pregunté a [PERSON] por el pedido"),
        # names that are ordinary words stay when nothing says they are names
        ("la camisa rosa blanco y negro", "la camisa rosa blanco y negro"),
        ("please mark brown items as returned", "please mark brown items as returned"),
        ("el pedido llegó con la caja rota y blanca de polvo", "el pedido llegó con la caja rota y blanca de polvo"),
        ("the grace period is over and the bill is due", "the grace period is over and the bill is due"),
        ("el plan cuesta 20 euros al mes", "el plan cuesta 20 euros al mes"),
    ],
)
def test_name_rules_without_ner(text: str, expected: str) -> None:
    assert redact(text, "und", use_ner=False).text == expected


def test_validators() -> None:
    assert luhn_is_valid("4111 1111 1111 1111") and not luhn_is_valid("4111 1111 1111 1112")
    assert iban_is_valid("ES91 2100 0418 4502 0005 1332") and iban_is_valid("gb82west12345698765432")
    assert not iban_is_valid("ES91 2100 0418 4502 0005 133")  # Spanish IBANs have 24 characters
    assert dni_is_valid("12345678", "z") and dni_is_valid("12.345.678", "Z")
    assert not dni_is_valid("12345678", "A")
    assert nie_is_valid("x", "1234567", "l") and not nie_is_valid("X", "1234567", "M")
    assert cif_is_valid("B12345674") and cif_is_valid("Q2826000H") and not cif_is_valid("B12345675")
    assert not cif_is_valid("Q28260008")  # Q (public bodies) always uses a control letter
    assert nss_is_valid("28 12345678 40") and not nss_is_valid("28 12345678 41")


def test_overlapping_spans_merge_into_the_longer_type() -> None:
    merged = merge_spans([Span("PERSON", 10, 20), Span("ADDRESS", 5, 30), Span("PHONE", 40, 49)])
    assert merged == [Span("ADDRESS", 5, 30), Span("PHONE", 40, 49)]
    # partial overlap: the union is redacted so that nothing of either entity is left
    assert merge_spans([Span("PERSON", 0, 10), Span("EMAIL", 5, 30)]) == [Span("EMAIL", 0, 30)]


def test_find_entities_is_regex_only() -> None:
    ents = find_entities("Escríbeme a ana@correo.es o al 612345678")
    assert [t for t, _, _ in ents] == ["EMAIL", "PHONE"]


def test_ner_gate() -> None:
    assert might_contain_name("ayer me atendió Javier y fue un desastre")
    assert might_contain_name("Gracias Marta")
    assert might_contain_name("Marta me dijo que hoy llegaba")  # a known first name opening a sentence
    assert not might_contain_name("el paquete llegó roto y nadie responde")
    assert not might_contain_name("Llevo tres días esperando. Nadie responde.")
    assert not might_contain_name("@Iberia Deberían devolverme el dinero")


def test_ner_finds_capitalised_names(nlp_loaded: None) -> None:
    es = redact("Ayer me dijo Sergio Ramírez Castro que el reembolso estaba hecho.", "es")
    assert "Ramírez" not in es.text and "[PERSON]" in es.text
    en = redact("The manager, Jennifer Lawrence, refused to help.", "en")
    assert "Lawrence" not in en.text and "[PERSON]" in en.text


def test_without_a_language_redact_detects_it_and_runs_ner(nlp_loaded: None) -> None:
    # callers outside the pipeline (the service redacting agents' notes) have no language at hand
    assert redact("llamé a Juan Pérez y no contestó").text == "llamé a [PERSON] y no contestó"
    only_ner = "ayer llamé a Leocadio Berrocal y no contestó"  # names in no list: only NER finds them
    assert redact(only_ner).text == "ayer llamé a [PERSON] y no contestó"
    assert redact(only_ner, "und").text == only_ner
    assert redact(only_ner, lang_min_confidence=0.999).text == only_ner  # passed values reach langid: "und"
    batch = redact_batch([only_ner, "I called Tobias Fenwick and nobody answered", "ok"])
    assert [r.text for r in batch] == ["ayer llamé a [PERSON] y no contestó", "I called [PERSON] and nobody answered",
                                       "ok"]


def test_other_languages_get_the_regex_layer(nlp_loaded: None) -> None:
    red = redact("Olá, o meu email é ana@exemplo.pt e telefone +351 912 345 678", "other")
    assert red.types == ["EMAIL", "PHONE"]


def test_batch_contract() -> None:
    assert redact_batch([], []) == []
    with pytest.raises(ConfigError, match="one language per text"):
        redact_batch(["a", "b"], ["es"])
    red = redact_batch([None, "ok"], ["und", "und"], use_ner=False)  # type: ignore[list-item]
    assert [r.text for r in red] == ["", "ok"]


# ---------------------------------------------------------------------------- evaluation


def test_evaluate_pii_table(nlp_loaded: None) -> None:
    table = evaluate_pii()
    assert list(table.columns) == COLUMNS
    assert set(table["lang"]) == {"es", "en"}
    overall = table[table["entity"] == "ALL"].set_index("lang")
    assert (overall["recall"] >= 0.95).all(), overall
    assert (overall["f2"] >= 0.9).all(), overall
    assert table.loc[table["entity"] != "ALL", "support"].sum() == overall["support"].sum()


def test_score_cases_counts_leaks_and_false_positives() -> None:
    case = PiiCase("es", "tel 612345678 y pedido 123", (("PHONE", "612345678"),))
    half = Redaction("tel [PHONE]678 y [PHONE]", [("PHONE", 4, 10), ("PHONE", 23, 26)])
    table = score_cases([case], [half]).set_index(["lang", "entity"])
    assert table.loc[("es", "PHONE"), "leaked_chars"] == 3
    assert table.loc[("es", "PHONE"), "recall"] == 0.0
    assert table.loc[("es", "PHONE"), "precision"] == 0.5
    assert table.loc[("es", "PHONE"), "false_positives"] == 1
    assert not math.isnan(table.loc[("es", "ALL"), "f2"])


# ---------------------------------------------------------------------------- spaCy loading


def test_split_sentences(nlp_loaded: None) -> None:
    texts = ["Hola. El pedido no llegó. ¿Me ayudáis?", "It broke. I want a refund!", "   ", "ok gracias"]
    spans = spacy_models.split_sentences(texts, ["es", "en", "es", "und"])
    got = [[t[s:e] for s, e in sp] for t, sp in zip(texts, spans, strict=True)]
    assert got == [
        ["Hola.", "El pedido no llegó.", "¿Me ayudáis?"],
        ["It broke.", "I want a refund!"],
        [],
        ["ok gracias"],
    ]
    with pytest.raises(ConfigError):
        spacy_models.split_sentences(["a"], [])


def test_missing_spacy_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(spacy_models.SPACY_PACKAGES, "xx", ("no_such_spacy_model_pkg", "pip install no-such"))
    with pytest.raises(ModelNotFoundError, match="pip install no-such"):
        spacy_models.load_pipeline("xx")
    with pytest.raises(ConfigError, match="supported"):
        spacy_models.load_pipeline("de")


def test_pipelines_are_cached_and_old_model_warning_is_local(nlp_loaded: None) -> None:
    import warnings

    assert spacy_models.load_pipeline("es") is spacy_models.load_pipeline("es")
    assert "senter" in spacy_models.load_pipeline("es").pipe_names
    assert not any("W095" in str(f) for f in warnings.filters)
