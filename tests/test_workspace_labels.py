"""Every code the workspace can show has a label in Spanish and English, and every interface string the
pages use exists in both languages. A new event type, action, reason, status, rule or audit entry
without its words fails here, before it reaches a page as ``ticket_opened``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
import yaml

from analyzer.foresight.features import FEATURE_NAMES
from analyzer.foresight.rules import ACTIONS, URGENT_CAUSES, WIN_BACK_CAUSE
from analyzer.importers import SOURCES as IMPORT_SOURCES
from analyzer.schema import EVENT_TYPES, SENTIMENT_LABELS, SEVERITIES, VALUE_TIERS
from analyzer.service.i18n import STRINGS
from analyzer.service.labels import CODE_LABELS, labels
from analyzer.service.schemas import AlertActionCreate
from analyzer.service.store import ALERT_STATUSES, OUTCOMES, SCOPES
from analyzer.text.themes import load_taxonomy

SERVICE = Path(__file__).resolve().parents[1] / "analyzer" / "service"
RULES = yaml.safe_load((SERVICE.parent / "foresight" / "rules.yaml").read_text(encoding="utf-8"))
FEEDBACK_OUTCOMES = get_args(get_args(AlertActionCreate.model_fields["outcome"].annotation)[0])

# group -> the codes the product can produce, read from where they are defined
SOURCES: dict[str, tuple[str, ...]] = {
    "severity": SEVERITIES,
    "status": ALERT_STATUSES,
    "action": tuple(sorted(ACTIONS)),
    "event": EVENT_TYPES,
    "reason": FEATURE_NAMES,
    "urgent": URGENT_CAUSES,
    "outcome": (*OUTCOMES, *FEEDBACK_OUTCOMES),
    "tier": (*VALUE_TIERS, "unknown"),
    "rule": (*(r["name"] for r in RULES["rules"]), WIN_BACK_CAUSE),
    "sentiment": SENTIMENT_LABELS,
    "history": ("raised", "assigned", "action", "outcome", *ALERT_STATUSES),
    "scope": SCOPES,
    "job": ("queued", "running", "done", "failed", "deleted", "purged"),
    "source": tuple(IMPORT_SOURCES),
}


# Audit resources written as f-strings, and the values they take.
TEMPLATES = {"settings_{kind}": ("settings_rules", "settings_taxonomy"), "{kind}s": ("messages", "events")}


def _audit_calls() -> tuple[set[str], set[str]]:
    """The (action, resource) of every ``audit(actor, "action", "resource", ...)`` call in the service's routes."""
    actions, resources = set(), set()
    for path in (SERVICE / "routes").glob("*.py"):
        for action, resource in re.findall(r"\.audit\([^,]+,\s*\"([a-z_]+)\"[^,]*,\s*f?\"([a-z_{}]+)\"",
                                           path.read_text(encoding="utf-8")):
            actions.add(action)
            if "{" in resource:
                assert resource in TEMPLATES, f"an audit resource from a template the test does not know: {resource}"
                resources.update(TEMPLATES[resource])
            else:
                resources.add(resource)
    verbs = re.findall(r"\"(acknowledge|resolve|dismiss)\"", (SERVICE / "routes" / "alerts.py").read_text())
    return actions | set(verbs), resources


AUDIT_ACTIONS, AUDIT_RESOURCES = _audit_calls()
SOURCES["audit_action"] = tuple(sorted(AUDIT_ACTIONS))
SOURCES["audit_resource"] = tuple(sorted(AUDIT_RESOURCES))


def _plain(code: str, label: str) -> bool:
    """Words, not a code: not empty and no snake_case (an English label may well be the code's own word)."""
    return bool(label.strip()) and "_" not in label


@pytest.mark.parametrize("group", sorted(SOURCES))
def test_every_code_has_plain_words_in_both_languages(group: str) -> None:
    assert SOURCES[group], f"no codes found for {group}: the source moved?"
    have = CODE_LABELS[group]
    missing = [c for c in SOURCES[group] if c not in have]
    assert missing == [], f"{group}: codes without a label: {missing}"
    bad = [(c, pair) for c, pair in have.items() if not all(_plain(c, x) for x in pair)]
    assert bad == [], f"{group}: labels that are empty or still look like codes: {bad}"


def test_the_audit_scan_finds_the_calls() -> None:
    # The scan above must see the routes' real audit calls, or the label check proves nothing.
    assert {"assign", "action", "outcome", "update", "erase", "acknowledge"} <= AUDIT_ACTIONS
    assert {"alert", "customer", "settings_rules", "settings_taxonomy", "api_key"} <= AUDIT_RESOURCES


def test_packaged_taxonomy_names_every_theme_in_both_languages() -> None:
    for theme in load_taxonomy().themes:
        for lang in ("es", "en"):
            assert _plain(theme.id, theme.name.get(lang, "")), (theme.id, lang, theme.name)


def test_labels_are_served_per_language() -> None:
    es, en = labels("es"), labels("en")
    assert es["action"]["priority_call"] == "Llamada prioritaria" and en["action"]["priority_call"] == "Priority call"
    assert es["event"]["ticket_opened"] != en["event"]["ticket_opened"]


def _used_keys() -> set[str]:
    keys: set[str] = set()
    js = "\n".join(p.read_text(encoding="utf-8") for p in (SERVICE / "static" / "js").glob("*.js"))
    keys |= set(re.findall(r"\bt\(\"([a-z_0-9]+)\"\)", js))
    keys |= set(re.findall(r"heading\(\"([a-z_]+)\"", js))
    # Keys built from a prefix and a value: every value the pages pass.
    dynamic = {"f_": ["status", "severity", "cause", "action", "owner", "segment", "q", "tier", "lapsed"],
               "st_": ["active", "open", "acknowledged", "resolved", "dismissed", "withdrawn", "all"],
               "kind_": ["messages", "events", "customers"], "cfg_": ["rules", "taxonomy"],
               "edit_": ["rules", "taxonomy"], "save_": ["rules", "taxonomy"],
               "source_": ["saved", "file", "packaged"], "applies_": ["rules", "taxonomy"]}
    for prefix in re.findall(r"\bt\(\"([a-z_]+_)\" \+", js):
        assert prefix in dynamic, f"a key prefix the test does not know: {prefix!r}"
        keys |= {prefix + v for v in dynamic[prefix]}
    # Column headers and option lists passed through t() from arrays of keys.
    for arr in re.findall(r"\[((?:\"[a-z_]+\",\s*)+\"[a-z_]+\")\]\s*\.map\(\(k\) => el\(\"th\"", js):
        keys |= set(re.findall(r"\"([a-z_]+)\"", arr))
    for key in re.findall(r"\[\d+, \"(period_[a-z0-9]+)\"\]", js):
        keys.add(key)
    html = (SERVICE / "static" / "index.html").read_text(encoding="utf-8")
    keys |= set(re.findall(r"data-i18n=\"([a-z_]+)\"", html))
    return keys


def test_every_interface_string_exists_in_both_languages() -> None:
    used = _used_keys()
    assert len(used) > 150, "the scan of the pages' scripts found too few keys: did the pattern break?"
    for lang in ("es", "en"):
        missing = sorted(used - set(STRINGS[lang]))
        assert missing == [], f"{lang}: strings the pages use but {lang} lacks: {missing}"
    same = [k for k in used
            if STRINGS["es"][k] == STRINGS["en"][k] and not re.fullmatch(r"[{}\d\W]*", STRINGS["es"][k])]
    assert len(same) <= 5, f"strings left in one language for both: {same}"
