"""Public reviews and surveys: Google reviews, Trustpilot, NPS survey exports.

- ``google-reviews``: Business Profile reviews JSON, as the Business Profile API and Google
  Takeout's Business Profile folder give them (``reviews: [{reviewId, reviewer: {displayName,
  isAnonymous}, starRating: "ONE".."FIVE", comment, createTime, updateTime, reviewReply}]``). Google's
  machine translation ("(Translated by Google) ... (Original) ...") is dropped: the original is kept.
  An anonymous reviewer is a customer of one review.
- ``trustpilot``: the business's CSV review export (``Review Created (UTC), Review ID, Review Title,
  Review Content, Review Stars, Email Address / Reference Id / Consumer User ID, Consumer Name``) or the
  API's JSON (``reviews: [{id, stars, title, text, createdAt, consumer: {id, displayName}, referenceId}]``).
- ``nps``: any survey export (CSV, XLSX, JSON) with a 0-10 score, a verbatim and a date: Delighted,
  Typeform, SurveyMonkey, Google Forms... The score column is ``Score``/``NPS``/``Rating`` or the
  question itself ("How likely are you to recommend...", "¿Qué probabilidad hay de que nos
  recomiendes...?"); 0-6 detractor, 7-8 passive, 9-10 promoter (counted in the summary; the
  foresight stage reads them from the score). A CSAT column (1-5) instead gives ``csat`` events.

Stars and scores become ``review``/``nps``/``csat`` events (``value`` = the score); the text becomes a
message. The customer is the e-mail (pseudonymised), else the source's customer id, else the
reviewer's display name (always pseudonymised).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from analyzer.importers.base import Draft, ImportOptions
from analyzer.importers.common import Record, find_column, html_to_text, norm_header, parse_number
from analyzer.importers.common import text_of as _t

__all__ = ["import_google_reviews", "import_nps", "import_trustpilot", "nps_category"]

_STARS = {"ONE": 1.0, "TWO": 2.0, "THREE": 3.0, "FOUR": 4.0, "FIVE": 5.0}
_ORIGINAL = re.compile(r"\(Original\)\s*(.*?)(?:\s*\(Translated by Google\).*)?$", re.S)
_TRANSLATED = re.compile(r"^\s*\(Translated by Google\).*?(?=\(Original\)|$)", re.S)


def _records(paths: list[Path], options: ImportOptions, draft: Draft, table: str) -> list[Record]:
    out: list[Record] = []
    for p in paths:
        draft.files.append(p.name)
        out += draft.readable(options.read(p), table)
    return out


def _get(v: dict[str, Any], *names: str) -> Any:
    col = find_column(v.keys(), *names)
    return v.get(col) if col is not None else None


def _google_text(comment: Any) -> str:
    text = _t(comment)
    if "(Original)" in text:
        m = _ORIGINAL.search(text)
        return m.group(1).strip() if m else text
    return _TRANSLATED.sub("", text).strip() if text.startswith("(Translated by Google)") else text


def import_google_reviews(paths: list[Path], options: ImportOptions) -> Draft:
    draft = Draft("google-reviews")
    for rec in _records(paths, options, draft, "events"):
        v = rec.values
        rid = _t(v.get("reviewId") or v.get("name"))
        reviewer: dict[str, Any] = v["reviewer"] if isinstance(v.get("reviewer"), dict) else {}
        anonymous = bool(reviewer.get("isAnonymous")) or not _t(reviewer.get("displayName"))
        customer = f"google-review:{rid}" if anonymous else _t(reviewer.get("displayName"))
        stars = _STARS.get(_t(v.get("starRating")).upper(), parse_number(v.get("starRating")))
        when = v.get("createTime") or v.get("updateTime")
        draft.event(rec.pos, customer_id=customer, timestamp=when, type="review",
                    value=stars if stars is not None else _t(v.get("starRating")), channel="google_reviews",
                    event_id=f"google-reviews:{rid}", record_id=rid, name_id=not anonymous)
        text = _google_text(v.get("comment"))
        if text:
            draft.message(rec.pos, customer_id=customer, timestamp=when, text=text, channel="google_reviews",
                          message_id=f"google-reviews:{rid}", record_id=rid, name_id=not anonymous)
        if isinstance(v.get("reviewReply"), dict):
            draft.counts["replied_by_business"] += 1
        draft.counts["reviews"] += 1
    return draft


def import_trustpilot(paths: list[Path], options: ImportOptions) -> Draft:
    draft = Draft("trustpilot")
    for rec in _records(paths, options, draft, "events"):
        v = rec.values
        consumer: dict[str, Any] = v["consumer"] if isinstance(v.get("consumer"), dict) else {}
        rid = _t(_get(v, "Review ID", "id", "reviewId"))
        email = _t(_get(v, "Email Address", "Consumer Email", "email"))
        ref = _t(_get(v, "Reference Id", "referenceId", "Reference ID"))
        uid = _t(_get(v, "Consumer User ID", "Review Consumer User ID")) or _t(consumer.get("id"))
        name = _t(_get(v, "Consumer Name")) or _t(consumer.get("displayName"))
        customer = email or ref or (f"trustpilot:{uid}" if uid else name)
        by_name = not (email or ref or uid)
        when = _get(v, "Review Created (UTC)", "Review Created", "createdAt", "Date")
        stars = _get(v, "Review Stars", "stars", "Stars", "Rating")
        draft.event(rec.pos, customer_id=customer, timestamp=when, type="review", value=stars, channel="trustpilot",
                    event_id=f"trustpilot:{rid}" if rid else None, record_id=rid, name_id=by_name)
        title = html_to_text(_get(v, "Review Title", "title"))
        body = html_to_text(_get(v, "Review Content", "text", "Review Text"))
        text = "\n".join(x for x in (title, body) if x)
        if text:
            draft.message(rec.pos, customer_id=customer, timestamp=when, text=text, channel="trustpilot",
                          message_id=f"trustpilot:{rid}" if rid else None, record_id=rid, name_id=by_name)
        draft.counts["reviews"] += 1
    return draft


def nps_category(score: float) -> str:
    """0-6 detractor, 7-8 passive, 9-10 promoter."""
    return "detractor" if score <= 6 else ("passive" if score <= 8 else "promoter")


_SCORE_WORDS = ("recommend", "recomend", "probab", "likely", "nps")


def _score_column(columns: list[str]) -> tuple[str | None, str]:
    col = find_column(columns, "NPS", "NPS score", "Score", "Puntuación", "Puntuacion", "Rating", "Nota", "Valoración")
    if col is not None:
        return col, "nps"
    for c in columns:
        if any(w in norm_header(c) for w in _SCORE_WORDS):
            return c, "nps"
    col = find_column(columns, "CSAT", "CSAT score", "Satisfaction", "Satisfacción")
    return (col, "csat") if col is not None else (None, "nps")


def import_nps(paths: list[Path], options: ImportOptions) -> Draft:
    from analyzer.errors import InputFormatError

    draft = Draft("nps")
    records = _records(paths, options, draft, "events")
    for rec in records:
        v = rec.values
        columns = list(v)
        score_col, kind = _score_column(columns)
        if score_col is None:
            raise InputFormatError(f"{rec.pos.file!r}: no score column (Score, NPS, Rating, CSAT, or the 'How likely "
                                   f"are you to recommend...' question); received columns {columns}.")
        rid = _t(_get(v, "Response ID", "Response Id", "id", "#", "Token", "Respondent ID"))
        customer = _get(v, "Email", "E-mail", "Correo", "Correo electrónico", "Customer ID", "customer_id",
                        "User ID", "Cliente", "Phone")
        when = _get(v, "Date", "Submitted at", "Submitted At", "Response date", "Created at", "Created",
                    "Timestamp", "Marca temporal", "Fecha", "Fecha de respuesta", "Response timestamp")
        score = parse_number(v.get(score_col), options.decimal)
        draft.event(rec.pos, customer_id=customer, timestamp=when, type=kind,
                    value=score if score is not None else _t(v.get(score_col)), channel="survey",
                    event_id=f"nps:{rid}" if rid else None, record_id=rid)
        comment_col = find_column(columns, "Comment", "Comments", "Verbatim", "Feedback", "Why", "Reason",
                                  "Comentario", "Comentarios", "Motivo", "Por qué", "¿Por qué?", "Open answer")
        text = html_to_text(v.get(comment_col)) if comment_col else ""
        if text:
            draft.message(rec.pos, customer_id=customer, timestamp=when, text=text, channel="survey",
                          message_id=f"nps:{rid}" if rid else None, record_id=rid)
        if kind == "nps" and score is not None and 0 <= score <= 10:
            draft.counts[nps_category(score) + "s"] += 1
        draft.counts["responses"] += 1
    return draft
