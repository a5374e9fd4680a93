"""Taxonomy loading, the linear theme scorer, prototypes for user themes, evidence spans."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.errors import ConfigError, NotFittedError
from analyzer.text.theme_heads import ThemeRules, agree_with_sentiment
from analyzer.text.themes import Taxonomy, Theme, ThemeClassifier, best_span, load_taxonomy

DEFAULT_THEMES = {"delivery_delay", "cancellation_by_company", "lost_damaged_item", "refund_return", "billing_price",
                  "product_quality", "support_responsiveness", "staff_attitude", "app_web_error", "account_access",
                  "churn_intent", "praise"}


def test_default_taxonomy_is_bilingual_and_complete():
    tax = load_taxonomy()
    assert set(tax.ids) == DEFAULT_THEMES
    for theme in tax.themes:
        assert theme.name["es"] and theme.name["en"]
        assert theme.description["es"] and theme.description["en"]
        assert theme.examples["es"] and theme.examples["en"]


def test_taxonomy_errors_say_what_is_wrong(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("themes:\n  - id: a\n    description: {es: x, en: y}\n  - id: a\n    description: z\n")
    with pytest.raises(ConfigError, match="appears twice"):
        load_taxonomy(bad)
    bad.write_text("themes:\n  - id: lonely\n")
    with pytest.raises(ConfigError, match="needs a description or examples"):
        load_taxonomy(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_taxonomy(tmp_path / "missing.yaml")


def test_user_theme_from_yaml(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "themes:\n"
        "  - id: noise\n"
        "    name: {es: Ruido, en: Noise}\n"
        "    description: Noise complaints\n"
        "    examples: {es: [hay mucho ruido], en: [too noisy]}\n"
    )
    tax = load_taxonomy(path)
    assert tax["noise"].seed_texts() == ["Noise complaints", "Noise complaints", "hay mucho ruido", "too noisy"]


def test_best_span_finds_the_strongest_run():
    contrib = np.array([-1.0, 0.2, 2.0, 1.5, -3.0, 1.0])
    assert best_span(contrib) == (1, 4)
    assert best_span(contrib, max_tokens=1) == (2, 3)
    assert best_span(np.array([])) == (0, 0)


def _blobs(rng, centers, n):
    X = np.concatenate([c + 0.3 * rng.standard_normal((n, len(c))) for c in centers])
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_multilabel_fit_predict_and_unfitted_error():
    rng = np.random.default_rng(0)
    centers = np.eye(8)[:3] * 3
    X = _blobs(rng, centers, 40)
    tax = Taxonomy(tuple(Theme(t, {"en": t}, {"en": t}) for t in ("a", "b", "c")))
    labels = [["a"]] * 40 + [["b"]] * 40 + [[]] * 40
    with pytest.raises(NotFittedError):
        ThemeClassifier(tax).predict(X)
    clf = ThemeClassifier(tax).fit(X, labels)
    pred = clf.predict(X)
    assert np.mean([p == g for p, g in zip(pred, labels, strict=True)]) > 0.9
    # "c" had no positive examples: it is not trained and needs a prototype.
    assert list(clf.trained_) == [True, True, False]


def test_prototype_scores_an_untrained_theme():
    rng = np.random.default_rng(1)
    centers = np.eye(8)[:3] * 3
    X = _blobs(rng, centers, 30)
    tax = Taxonomy(tuple(Theme(t, {"en": t}, {"en": t}) for t in ("a", "b", "c")))
    clf = ThemeClassifier(tax).fit(X[:60], [["a"]] * 30 + [["b"]] * 30)
    seeds = {"a": X[:5], "b": X[30:35], "c": X[60:65]}
    clf.add_prototypes(seeds)
    found = clf.predict(X[65:90])
    assert np.mean(["c" in f for f in found]) > 0.8
    assert np.mean(["c" in f for f in clf.predict(X[5:30])]) < 0.2


def test_single_label_and_save_load_roundtrip(tmp_path):
    rng = np.random.default_rng(2)
    X = _blobs(rng, np.eye(8)[:4] * 3, 20)
    ids = ["w", "x", "y", "z"]
    tax = Taxonomy(tuple(Theme(t, {"en": t}, {"en": t}) for t in ids))
    y = [t for t in ids for _ in range(20)]
    clf = ThemeClassifier(tax, multi_label=False).fit(X, y)
    assert np.mean([p[0] == g for p, g in zip(clf.predict(X), y, strict=True)]) > 0.95
    clf.save(tmp_path, {"note": "test"})
    again = ThemeClassifier.load(tmp_path, tax)
    assert again.multi_label is False
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), atol=2e-3)


def test_single_label_selects_C_by_cross_validation_and_uses_seeds():
    rng = np.random.default_rng(3)
    X = _blobs(rng, np.eye(8)[:3] * 3, 12)
    ids = ["p", "q", "r"]
    tax = Taxonomy(tuple(Theme(t, {"en": t}, {"en": t}) for t in ids))
    y = [t for t in ids for _ in range(12)]
    clf = ThemeClassifier(tax, multi_label=False).fit(X, y)
    assert clf.C_ in ThemeClassifier.C_GRID
    # A theme known only from its seed (description) still gets weights.
    seeds = {"r": np.eye(8)[2:3]}
    clf = ThemeClassifier(tax, multi_label=False).fit(X[:24], y[:24], seeds=seeds)
    assert bool(clf.trained_[2])
    assert clf.predict(np.eye(8)[2:3])[0] == ["r"]


def test_complaint_fallback_reports_likely_causes_of_negative_messages():
    """The default model's rules (ThemeRules()): a negative message with no cause over its threshold
    gets the causes at least as likely as not, two at most; praise and churn intent are never causes."""
    tax = load_taxonomy()
    ids = tax.ids
    k = {t: ids.index(t) for t in ("delivery_delay", "lost_damaged_item", "billing_price", "praise", "churn_intent")}
    p = np.full((5, len(ids)), 0.1)
    p[0, [k["praise"], k["delivery_delay"], k["lost_damaged_item"], k["billing_price"]]] = [0.95, 0.7, 0.6, 0.55]
    p[0, k["churn_intent"]] = 0.99
    p[1, k["delivery_delay"]] = 0.4  # nothing at least as likely as not: no theme
    p[2, k["delivery_delay"]] = 0.8  # not negative: left alone
    p[3, k["billing_price"]] = 0.9  # already has a cause: left alone
    p[4, k["delivery_delay"]] = 0.6  # churn intent is not a cause: the cause is added
    negative, positive = [0.8, 0.1, 0.1], [0.1, 0.1, 0.8]
    sentiment = np.array([negative, negative, positive, negative, negative])
    found: list[list[str]] = [[], [], [], ["account_access"], ["churn_intent"]]
    agree_with_sentiment(ids, found, p, sentiment, [ThemeRules()] * 5)
    assert found == [["delivery_delay", "lost_damaged_item"], [], [], ["account_access"],
                     ["churn_intent", "delivery_delay"]]


def test_negative_messages_keep_praise_only_when_they_really_praise():
    ids = load_taxonomy().ids
    kp = ids.index("praise")
    p = np.full((3, len(ids)), 0.1)
    p[:, kp] = [0.6, 0.97, 0.6]
    sentiment = np.array([[0.8, 0.1, 0.1], [0.8, 0.1, 0.1], [0.1, 0.2, 0.7]])
    found: list[list[str]] = [["praise"], ["praise"], ["praise"]]
    agree_with_sentiment(ids, found, p, sentiment, [ThemeRules(praise_gate=0.9, fallback=None)] * 3)
    # a complaint with a lukewarm praise score loses it; strong praise and positive messages keep it
    assert found == [[], ["praise"], ["praise"]]
    found = [["praise"]]
    agree_with_sentiment(ids, found, p[:1], sentiment[:1], [ThemeRules(praise_gate=None, fallback=None)])
    assert found == [["praise"]]
