"""Language identification: es / en / other / und, batch contract, configuration errors."""

from __future__ import annotations

import pandas as pd
import pytest

from analyzer.errors import ConfigError
from analyzer.settings import get_settings
from analyzer.text.langid import LangResult, detect_language, detect_languages, get_detector

SPANISH = [
    "Llevo tres semanas esperando el reembolso y nadie me contesta",
    "El vuelo salió con dos horas de retraso y perdí la conexión",
    "Muy contenta con la atención, me resolvieron todo en el momento",
]
ENGLISH = [
    "I have been waiting three weeks for my refund and nobody answers",
    "The flight left two hours late and I missed my connection",
    "Very happy with the service, they solved everything right away",
]
OTHER = [
    "Estou à espera do reembolso há três semanas e ninguém responde",  # pt
    "J'attends mon remboursement depuis trois semaines et personne ne répond",  # fr
    "Aspetto il rimborso da tre settimane e nessuno risponde",  # it
]
UNDETERMINED = ["ok", "12345", "😡😡😡", "", "   ", "@Iberia https://t.co/abc", "lol"]


@pytest.mark.parametrize(("texts", "label"), [(SPANISH, "es"), (ENGLISH, "en"), (OTHER, "other")])
def test_languages(texts: list[str], label: str) -> None:
    out = detect_languages(texts)
    assert out["lang"].tolist() == [label] * len(texts)
    assert (out["lang_confidence"] >= get_settings().lang_min_confidence).all()


@pytest.mark.parametrize("text", UNDETERMINED)
def test_short_or_non_alphabetic_is_und(text: str) -> None:
    result = detect_language(text)
    assert result.lang == "und"
    assert 0.0 <= result.confidence < get_settings().lang_min_confidence


def test_result_explains_itself() -> None:
    pt = detect_language(OTHER[0])
    assert pt == LangResult("other", pt.confidence, "pt", "detected")
    assert detect_language("ok").reason == "too_short"


def test_handles_and_urls_do_not_decide_the_language() -> None:
    # an English brand handle and a link in front of a Spanish complaint
    text = "@AmericanAir https://t.co/x1 el equipaje llegó roto y nadie me ayuda"
    assert detect_language(text).lang == "es"


def test_low_confidence_threshold_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "gracias"
    assert detect_language(text).lang == "es"
    monkeypatch.setenv("DARKFEEDBACK_LANG_MIN_CONFIDENCE", "0.99")
    get_settings.cache_clear()
    try:
        result = detect_language(text)
        assert result.lang == "und" and result.reason == "low_confidence"
    finally:
        monkeypatch.delenv("DARKFEEDBACK_LANG_MIN_CONFIDENCE")
        get_settings.cache_clear()


def test_passed_values_win_over_settings() -> None:
    # what the pipeline does: it passes its own Settings' values down instead of the process settings
    text = "gracias"
    strict = detect_language(text, min_confidence=0.99)
    assert (strict.lang, strict.detected, strict.reason) == ("und", "es", "low_confidence")
    assert detect_languages([text], ["es", "en"], min_confidence=0.0)["lang"].tolist() == ["es"]
    with pytest.raises(ConfigError, match="between 0 and 1"):
        detect_language(text, min_confidence=1.5)


def test_batch_contract() -> None:
    series = pd.Series([SPANISH[0], None, ENGLISH[0]], index=[10, 20, 30])
    out = detect_languages(series)
    assert list(out.columns) == ["lang", "lang_confidence"]
    assert out.index.tolist() == [10, 20, 30]
    assert out["lang"].tolist() == ["es", "und", "en"]
    assert out["lang_confidence"].dtype == "float64"
    assert detect_languages([]).shape == (0, 2)


def test_detector_is_built_once_per_candidate_set() -> None:
    assert get_detector() is get_detector()
    codes = ["en", "es", "pt", "it", "fr", "ca"]
    assert get_detector(codes) is get_detector(tuple(reversed(codes)))
    assert get_detector(["es", "en"]) is not get_detector(codes)


def test_restricting_candidates_changes_other() -> None:
    # without Portuguese among the candidates, a Portuguese text can only be es/en/und
    assert detect_language(OTHER[0], languages=["es", "en"]).lang in {"es", "und"}


def test_bad_candidate_sets() -> None:
    with pytest.raises(ConfigError, match="must include"):
        get_detector(["es", "pt"])
    with pytest.raises(ConfigError, match="Unknown ISO 639-1"):
        get_detector(["es", "en", "zz"])
