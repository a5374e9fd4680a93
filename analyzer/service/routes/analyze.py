"""POST /v1/analyze: the text pipeline on one or many texts (nothing is stored)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Request

from analyzer.schema import SENTIMENT_LABELS
from analyzer.service.auth import require
from analyzer.service.deps import holder, metrics, settings
from analyzer.service.schemas import AnalyzeRequest, AnalyzeResponse

__all__ = ["router", "run_analyzer"]

router = APIRouter(tags=["analyze"])


def _parse(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else (value if value is not None else [])


def check_texts(texts: list[str], request: Request, where: str) -> None:
    s = settings(request)
    if len(texts) > s.max_batch_items:
        raise HTTPException(413, f"{len(texts)} items in one request; the limit is {s.max_batch_items}. "
                                 "Split the request.")
    for i, t in enumerate(texts):
        if len(t) > s.max_text_chars:
            raise HTTPException(422, f"{where}[{i}] has {len(t)} characters; the limit is {s.max_text_chars} "
                                     "(texts are rejected, not truncated).")


def run_analyzer(request: Request, frame: pd.DataFrame) -> pd.DataFrame:
    analyzer = holder(request).get()
    out = analyzer.analyze_frame(frame)
    if len(out) != len(frame):
        raise RuntimeError(f"text analyzer returned {len(out)} rows for {len(frame)}")
    metrics(request).analyzed.inc(len(frame))
    return out.reset_index(drop=True)


@router.post("/v1/analyze", response_model=AnalyzeResponse, summary="Analyse texts (language, PII, sentiment, themes)",
             dependencies=[Depends(require("ingest", "read"))])
def analyze(body: AnalyzeRequest, request: Request) -> dict[str, Any]:
    """Language, redacted text, sentiment (message and sentence) and complaint themes with evidence.

    Nothing is stored. Raw texts are redacted first; the response never contains them.
    """
    check_texts(body.texts, request, "texts")
    out = run_analyzer(request, pd.DataFrame({"text": body.texts}))
    results = []
    for r in out.to_dict("records"):
        results.append({
            "lang": r["lang"], "lang_confidence": float(r["lang_confidence"]), "text_redacted": r["text_redacted"],
            "pii_types": list(r["pii_types"]), "sentiment_label": r["sentiment_label"],
            "sentiment_score": float(r["sentiment_score"]),
            "probabilities": {label: float(r[f"p_{label}"]) for label in SENTIMENT_LABELS},
            "sentences": _parse(r["sentences"]), "themes": _parse(r["theme_evidence"]),
        })
    return {"results": results}
