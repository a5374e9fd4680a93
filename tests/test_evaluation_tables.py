"""The evaluation's outputs: the JSON table (no NaN placeholders) and the churn-intent set built from public data."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from analyzer.evaluation.text import PER_THEME, table_records


def test_records_keep_only_the_fields_each_row_has() -> None:
    table = pd.DataFrame([
        {"task": "themes", "dataset": "d", "metric": "macro-F1", "value": 0.61, "n": 927, "target": 0.6, "met": True},
        {"task": PER_THEME, "dataset": "d", "metric": "F1", "value": 0.5, "n": 16, "theme": "praise",
         "precision": 0.88, "recall": 0.41},
    ])
    records = table_records(table)
    text = json.dumps(records, allow_nan=False)  # raises on a NaN left behind
    assert "NaN" not in text
    assert set(records[0]) == {"task", "dataset", "metric", "value", "n", "target", "met"}
    assert records[1]["theme"] == "praise" and "target" not in records[1]
    assert not any(isinstance(v, float) and math.isnan(v) for r in records for v in r.values())


@pytest.mark.requires_datasets("es_airline_reasons", "en_airline_tweets", "banking77")
def test_the_churn_intent_set_has_its_three_parts() -> None:
    from analyzer.evaluation.churn import churn_intent_set

    df = churn_intent_set()
    parts = df.groupby("part")["churn"].agg(["size", "sum"]).to_dict("index")
    assert parts["es"] == {"size": 927, "sum": 16}
    assert parts["banking77"] == {"size": 3080, "sum": 40}
    assert parts["en"]["size"] == 594 and parts["en"]["sum"] == 93
    assert int(df.loc[df["part"] == "en", "random"].sum()) == 300
