"""Spanish themes: the character n-gram scorer, language heads, their evidence and their agreement
with sentiment; and, with the shipped models, Spanish messages end to end."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from analyzer.errors import ModelNotFoundError, NotFittedError
from analyzer.text.lexical import CharNgramScorer
from analyzer.text.theme_heads import LanguageHead, ThemeRules, load_language_heads

TEXTS = ["el vuelo llegó con retraso", "otra vez retraso de tres horas", "me perdieron la maleta",
         "la maleta llegó rota", "gracias por todo, genial", "muchas gracias, un servicio genial",
         "retraso y maleta perdida", "nada que decir", "hola qué tal", "el avión salió tarde, retraso"]
IDS = ["delay", "luggage", "praise"]
Y = np.array([[t in row for t in IDS] for row in
              [["delay"], ["delay"], ["luggage"], ["luggage"], ["praise"], ["praise"], ["delay", "luggage"], [], [],
               ["delay"]]])


def test_char_ngram_logits_equal_scikit_learn_and_split_exactly_over_words(tmp_path):
    lex = CharNgramScorer(min_df=1).fit(TEXTS, Y)
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=1, lowercase=True, strip_accents="unicode",
                          sublinear_tf=True).fit(TEXTS)
    new = ["RETRASO otra vez, la maleta rota", "sin palabras", ""]
    expected = vec.transform(new) @ lex.coef_.T.astype(np.float64) + lex.intercept_
    np.testing.assert_allclose(lex.logits(new), expected, atol=1e-5)
    spans, shares = lex.word_contributions(new[0])
    assert [new[0][a:b] for a, b in spans] == new[0].split()
    np.testing.assert_allclose(shares.sum(0) + lex.intercept_, lex.logits(new[:1])[0], atol=1e-5)
    # the word that says "delay" carries the delay logit
    assert new[0][slice(*spans[int(np.argmax(shares[:, 0]))])].lower().startswith("retraso")
    lex.save(tmp_path / "lex.npz")
    np.testing.assert_allclose(CharNgramScorer.load(tmp_path / "lex.npz").logits(new), lex.logits(new), atol=2e-3)
    with pytest.raises(NotFittedError):
        CharNgramScorer().logits(["x"])
    with pytest.raises(ModelNotFoundError):
        CharNgramScorer.load(tmp_path / "missing.npz")


def _head(rng: np.random.Generator) -> tuple[LanguageHead, np.ndarray]:
    X = rng.standard_normal((len(TEXTS), 8)).astype(np.float32)
    X[:, :3] += 2 * Y  # the embedding says it too
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    head = LanguageHead("es", IDS, mix=0.5).fit(X, Y, lexical_texts=TEXTS, lexical_Y=Y, C=4.0,
                                                lexical=CharNgramScorer(min_df=1))
    return head, X


def test_language_head_mixes_embedding_and_lexical_logits():
    head, X = _head(np.random.default_rng(0))
    assert head.lexical_ is not None
    z = head.logits(X, TEXTS)
    expected = 0.5 * (X @ head.weights_.T + head.bias_) + 0.5 * head.lexical_.logits(TEXTS)
    np.testing.assert_allclose(z, expected, atol=1e-5)
    # learns the training rows
    assert ((1 / (1 + np.exp(-z)) >= 0.5) == Y).mean() > 0.9


def test_lexical_token_shares_sum_to_the_lexical_part():
    head, _ = _head(np.random.default_rng(1))
    text = "retraso otra vez y la maleta rota"
    prefix = "query: "
    # token offsets in the prefixed string: one token per word plus the prefix and two special tokens
    offsets = [(0, 0), (0, 6)]
    pos = len(prefix)
    for word in text.split():
        start = text.index(word, pos - len(prefix)) + len(prefix)
        offsets.append((start, start + len(word)))
        pos = start + len(word)
    offsets.append((0, 0))
    shares = head.lexical_token_shares(text, offsets, len(prefix))
    assert head.lexical_ is not None
    lexical_part = 0.5 * (head.lexical_.logits([text])[0] - head.lexical_.intercept_)
    np.testing.assert_allclose(shares.sum(0), lexical_part, atol=1e-5)
    assert not shares[0].any() and not shares[-1].any()  # special tokens carry nothing


def test_head_save_load_follows_the_taxonomy(tmp_path):
    head, X = _head(np.random.default_rng(2))
    head.threshold_ = np.array([0.4, 0.5, 0.8])
    head.rules_, head.churn_threshold_ = ThemeRules(praise_gate=0.95, fallback=0.4, fallback_max=1), 0.7
    head.serves = ("es", "und")
    head.save(tmp_path)
    # a taxonomy in another order, with a theme the head never saw
    ids = ["praise", "new_theme", "delay", "luggage"]
    again = load_language_heads(tmp_path, ids)["es"]
    z_old, z_new = head.logits(X, TEXTS), again.logits(X, TEXTS)
    np.testing.assert_allclose(z_new[:, [2, 3, 0]], z_old, atol=2e-2)
    assert np.isnan(z_new[:, 1]).all()  # left to the default model
    assert list(again.threshold_) == [0.8, 0.5, 0.4, 0.5]
    assert again.rules_ == head.rules_ and again.churn_threshold_ == 0.7 and again.serves == ("es", "und")
    assert load_language_heads(tmp_path / "none", ids) == {}


# -- with the shipped models ------------------------------------------------------------------------

@pytest.mark.slow
def test_spanish_messages_get_their_themes_with_spanish_evidence(text_analyzer):
    assert "es" in text_analyzer.heads, "models/themes/themes_es.npz is missing: darkfeedback train-themes"
    texts = ["Llevo tres horas en el aeropuerto, el vuelo sigue con retraso y nadie informa",
             "Me habéis perdido la maleta otra vez, es la segunda vez este mes",
             "Nunca más vuelo con vosotros, me paso a la competencia",
             "Me han cobrado dos veces el billete y no me devuelven el dinero"]
    got = text_analyzer.analyze(texts)
    themes = [{m.theme: m for m in r.themes} for r in got]
    assert "delivery_delay" in themes[0]
    assert "lost_damaged_item" in themes[1]
    assert "churn_intent" in themes[2]
    assert {"billing_price", "refund_return"} & set(themes[3])
    for r, t in zip(got, themes, strict=True):
        for m in t.values():
            assert m.evidence and r.text_redacted[m.start:m.end].strip() == m.evidence
    assert "retraso" in themes[0]["delivery_delay"].evidence or "horas" in themes[0]["delivery_delay"].evidence
    assert "maleta" in themes[1]["lost_damaged_item"].evidence
    assert themes[2]["churn_intent"].evidence.lower().startswith(("nunca más", "me paso"))


@pytest.mark.slow
def test_themes_agree_with_sentiment(text_analyzer):
    """A negative complaint gets no praise unless its praise score passes its head's gate, and a
    negative message with a likely cause is not left without one."""
    texts = ["Gracias por nada, otra vez el vuelo cancelado y sin explicación",
             "Muchísimas gracias a la tripulación, un trato excelente",
             "Qué vergüenza de servicio, llevo una semana sin mi maleta",
             "Thanks for nothing, my bag is lost again"]
    got = text_analyzer.analyze(texts)
    ids = text_analyzer.taxonomy.ids
    for r in got:
        names = [m.theme for m in r.themes]
        if r.label == "negative" and "praise" in names:
            head = text_analyzer.head_for(r.lang)
            rules = head.rules_ if head is not None else text_analyzer.default_rules
            assert rules.praise_gate is not None
            assert next(m for m in r.themes if m.theme == "praise").probability >= rules.praise_gate
    assert got[0].label == "negative" and "praise" not in [m.theme for m in got[0].themes]
    assert "cancellation_by_company" in [m.theme for m in got[0].themes]
    assert "praise" in [m.theme for m in got[1].themes]
    assert "lost_damaged_item" in [m.theme for m in got[2].themes]
    assert "praise" not in [m.theme for m in got[3].themes]
    assert set(ids) >= {m.theme for r in got for m in r.themes}
