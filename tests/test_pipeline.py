"""The whole text core on real models: sentiment, themes with evidence, redaction, both APIs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import analyzer
from analyzer.errors import ConfigError
from analyzer.schema import ANALYSED_COLUMNS, MESSAGE_INPUT_COLUMNS
from analyzer.text.pipeline import OUTPUT_COLUMNS, load_analyzer

pytestmark = pytest.mark.slow

CLEAR = [
    ("Mi pedido lleva dos semanas de retraso y nadie me contesta. Estoy harta.", "es", "negative"),
    ("Todo perfecto, el envío llegó antes de tiempo. ¡Muchas gracias!", "es", "positive"),
    ("The app crashes every time I try to pay. Useless.", "en", "negative"),
    ("Thank you so much, the staff were wonderful and the flight was great!", "en", "positive"),
    ("¿A qué hora abre la tienda del centro mañana?", "es", "neutral"),
    ("What time does the store open tomorrow?", "en", "neutral"),
]


def test_clear_cases_es_en(text_analyzer):
    results = text_analyzer.analyze([t for t, _, _ in CLEAR])
    for (text, lang, label), r in zip(CLEAR, results, strict=True):
        assert r.lang == lang, text
        assert r.sentiment.label == label, (text, r.sentiment)
        probs = r.sentiment.probabilities
        assert abs(sum(probs.values()) - 1.0) < 1e-4
        assert -1.0 <= r.score <= 1.0
        assert r.score == pytest.approx(probs["positive"] - probs["negative"], abs=1e-5)


@pytest.mark.parametrize(("text", "theme"), [
    ("Mi pedido lleva dos semanas de retraso, ¿dónde está?", "delivery_delay"),
    ("My package is a week late and still hasn't arrived", "delivery_delay"),
    ("Me habéis cobrado dos veces el mismo pedido", "billing_price"),
    ("I was charged twice for the same order, fix it", "billing_price"),
    ("No puedo entrar en mi cuenta, la contraseña no funciona", "account_access"),
    ("I can't log into my account, password reset never arrives", "account_access"),
    ("La maleta llegó rota y me faltan cosas", "lost_damaged_item"),
    ("Quiero que me devolváis el dinero, todavía no tengo el reembolso", "refund_return"),
    ("Me doy de baja, me voy a la competencia", "churn_intent"),
    ("Muchas gracias, el servicio fue excelente", "praise"),
])
def test_themes_with_evidence(text_analyzer, text, theme):
    [r] = text_analyzer.analyze([text])
    found = {m.theme: m for m in r.themes}
    assert theme in found, (text, [(m.theme, round(m.probability, 2)) for m in r.themes])
    m = found[theme]
    assert m.evidence and m.evidence == r.text_redacted[m.start:m.end]
    assert 0.0 <= m.probability <= 1.0


def test_pii_never_reaches_the_output(text_analyzer):
    text = "Soy Pilar Gómez, DNI 12345678Z, llamadme al 612 34 56 78 o a pilar.gomez@example.com, el pedido no llegó."
    frame = text_analyzer.analyze_frame(pd.DataFrame({"text": [text], "message_id": ["m1"]}))
    row = frame.iloc[0].to_dict()
    dumped = json.dumps(row, default=str, ensure_ascii=False)
    for secret in ("Pilar", "Gómez", "12345678Z", "612 34 56 78", "pilar.gomez"):
        assert secret not in dumped
    assert {"DNI", "PHONE", "EMAIL", "PERSON"} <= set(row["pii_types"])
    assert "text" not in frame.columns


def test_frame_cells_are_native_records(text_analyzer):
    texts = ["El producto es precioso y llegó rápido. Pero la atención al cliente es horrible.",
             "Me habéis cobrado dos veces el mismo pedido, llamadme al 612 34 56 78"]
    frame = text_analyzer.analyze_frame(pd.DataFrame({"message_id": ["a", "b"], "text": texts}, index=[7, 3]))
    assert list(frame.columns) == ["message_id", *OUTPUT_COLUMNS]
    assert list(OUTPUT_COLUMNS) == [c for c in ANALYSED_COLUMNS if c not in (*MESSAGE_INPUT_COLUMNS, "source_row")]
    assert frame.index.tolist() == [7, 3]
    listed = text_analyzer.analyze(texts)
    for (_, row), r in zip(frame.iterrows(), listed, strict=True):
        record = r.to_record()
        assert list(record) == list(OUTPUT_COLUMNS)
        assert {c: row[c] for c in OUTPUT_COLUMNS} == record
        assert isinstance(row["pii_types"], list) and isinstance(row["themes"], list)
        assert all(isinstance(s, dict) and list(s) == ["start", "end", "label", "score"] for s in row["sentences"])
        for ev in row["theme_evidence"]:
            assert list(ev) == ["theme", "probability", "evidence", "start", "end"]
            assert ev["evidence"] == row["text_redacted"][ev["start"]:ev["end"]]
        assert row["themes"] == [ev["theme"] for ev in row["theme_evidence"]]
    first, second = frame.iloc[0], frame.iloc[1]
    assert [s["label"] for s in first["sentences"]] == ["positive", "negative"]
    assert second["sentences"] == [] and second["pii_types"] == ["PHONE"]
    assert "billing_price" in second["themes"]
    json.dumps(frame.to_dict("records"))  # plain JSON-able values, no numpy scalars inside the nested cells


def test_settings_are_passed_down_and_key_the_cache(text_analyzer, settings):
    assert load_analyzer(settings) is text_analyzer
    # settings that change nothing an analyzer computes reuse it
    assert load_analyzer(settings.model_copy(update={"chunk_rows": 7, "alert_lang": "en"})) is text_analyzer
    strict = load_analyzer(settings.model_copy(update={"lang_min_confidence": 0.999}))
    assert strict is not text_analyzer
    text = "Gracias por todo"
    assert text_analyzer.analyze([text])[0].lang == "es"
    assert strict.analyze([text])[0].lang == "und"  # the analyzer's own settings reach language ID


def test_sentence_level_sentiment_and_shift_inside_a_message(text_analyzer):
    [r] = text_analyzer.analyze(["El producto es precioso y llegó rápido. Pero la atención al cliente es horrible."])
    assert len(r.sentences) == 2
    assert r.sentences[0].label == "positive"
    assert r.sentences[1].label == "negative"
    assert r.sentences[0].end <= r.sentences[1].start


def test_frame_and_list_apis_agree(text_analyzer):
    texts = [t for t, _, _ in CLEAR]
    frame = text_analyzer.analyze_frame(pd.DataFrame({"text": texts, "customer_id": list("abcdef")}))
    listed = text_analyzer.analyze(texts)
    assert frame["customer_id"].tolist() == list("abcdef")
    assert frame["sentiment_label"].tolist() == [r.label for r in listed]
    np.testing.assert_allclose(frame["sentiment_score"], [r.score for r in listed], atol=1e-4)
    assert frame["themes"].tolist() == [[m.theme for m in r.themes] for r in listed]


def test_long_text_is_scored_over_windows(text_analyzer):
    long_text = " ".join(["El servicio fue pésimo y nadie me ayudó con la devolución."] * 80)
    [r] = text_analyzer.analyze([long_text])
    assert r.sentiment.label == "negative"


def test_public_api_and_bad_input(text_analyzer):
    assert set(analyzer.__all__) >= {"analyze", "analyze_frame", "load_analyzer", "TextAnalyzer", "MessageAnalysis"}
    [r] = analyzer.analyze(["Gracias por todo"])
    assert r.label == "positive"
    with pytest.raises(ConfigError, match="list of texts"):
        text_analyzer.analyze("one string")
    with pytest.raises(ConfigError, match="column"):
        text_analyzer.analyze_frame(pd.DataFrame({"body": ["x"]}))
    assert text_analyzer.analyze([]) == []
