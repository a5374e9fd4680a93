"""Evaluation of PII redaction on the labelled cases in :mod:`analyzer.evaluation.pii_cases`.

Scoring follows the "a leak is worse than an over-redaction" rule (Presidio recommends F2):

- an expected entity is *detected* when every non-space character of it is covered by some
  redacted span, whatever type that span got (a mistyped entity is not a leak);
- ``leaked_chars`` counts the non-space characters of expected entities left in clear;
- a predicted span is a *true positive* when it overlaps an expected entity, otherwise it is an
  over-redaction (it also counts against precision when it breaks a ``keep`` substring);
- ``precision`` is per predicted type, ``recall`` per expected type; ``f2`` weighs recall 4x.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import pandas as pd

from analyzer.evaluation.pii_cases import PII_CASES, PiiCase
from analyzer.text.pii import Redaction, redact_batch

__all__ = ["COLUMNS", "evaluate_pii", "score_cases"]

COLUMNS = ["lang", "entity", "support", "detected", "recall", "predicted", "precision", "f2", "leaked_chars",
           "false_positives"]


def _f2(precision: float, recall: float) -> float:
    if precision + recall == 0:
        return 0.0
    return 5 * precision * recall / (4 * precision + recall)


def _leaked(text: str, start: int, end: int, predicted: list[tuple[str, int, int]]) -> int:
    return sum(
        1 for i in range(start, end)
        if not text[i].isspace() and not any(s <= i < e for _, s, e in predicted)
    )


def score_cases(cases: Sequence[PiiCase], redactions: Sequence[Redaction]) -> pd.DataFrame:
    """Per-language, per-entity table (plus an ``ALL`` row per language) from redactions of ``cases``."""
    stats: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for case, red in zip(cases, redactions, strict=True):
        expected = case.spans()
        predicted = red.entities
        for etype, start, end in expected:
            leaked = _leaked(case.text, start, end, predicted)
            for key in ((case.lang, etype), (case.lang, "ALL")):
                stats[key]["support"] += 1
                stats[key]["detected"] += int(leaked == 0)
                stats[key]["leaked_chars"] += leaked
        for ptype, start, end in predicted:
            hit = any(start < e and s < end for _, s, e in expected)
            for key in ((case.lang, ptype), (case.lang, "ALL")):
                stats[key]["predicted"] += 1
                stats[key]["tp_pred"] += int(hit)
                stats[key]["false_positives"] += int(not hit)

    rows = []
    for (lang, entity), s in stats.items():
        recall = s["detected"] / s["support"] if s["support"] else float("nan")
        precision = s["tp_pred"] / s["predicted"] if s["predicted"] else float("nan")
        f2 = _f2(precision if s["predicted"] else 0.0, recall) if s["support"] else float("nan")
        rows.append({
            "lang": lang, "entity": entity, "support": s["support"], "detected": s["detected"],
            "recall": recall, "predicted": s["predicted"], "precision": precision, "f2": f2,
            "leaked_chars": s["leaked_chars"], "false_positives": s["false_positives"],
        })
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["_all"] = table["entity"] == "ALL"
    table = table.sort_values(["lang", "_all", "entity"]).drop(columns="_all").reset_index(drop=True)
    return table


def evaluate_pii(cases: Sequence[PiiCase] = PII_CASES, *, use_ner: bool = True) -> pd.DataFrame:
    """Redact the labelled cases and return the per-language, per-entity table (see module docstring).

    Columns: lang, entity, support, detected, recall, predicted, precision, f2, leaked_chars,
    false_positives. Each language ends with an ``ALL`` row.
    """
    redactions = redact_batch([c.text for c in cases], [c.lang for c in cases], use_ner=use_ner)
    return score_cases(cases, redactions)
