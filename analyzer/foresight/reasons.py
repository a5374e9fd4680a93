"""Reasons in plain words (Spanish and English) with their evidence, one per feature.

Each text function gets the facts of the customer, the feature's value and its ``delta``: for a
level, how far above (> 0) or below (< 0) the population's average the customer is, so the words
say what is true of the customer ("a frequent customer", "a recent customer") whatever the sign
of the learnt weight; the contribution says whether that raises or lowers the risk.

A reason is ``{code, contribution, text_es, text_en, evidence}``; ``evidence`` has one fixed shape,
so it is a struct in Parquet and an object in JSONL: ``quotes`` (redacted messages with date and
channel, newest first) and ``facts`` (``[{name, value}]``, the measurements behind the words, as
text). Level features read differently by the sign of their contribution: a customer whose
frequency lowers the risk is "a frequent customer", not "a customer with a frequency".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

__all__ = ["THEME_NAMES", "reason_texts"]

THEME_NAMES: dict[str, tuple[str, str]] = {
    "delivery_delay": ("retrasos en la entrega", "delivery delays"),
    "refund_return": ("devoluciones y reembolsos", "refunds and returns"),
    "billing_price": ("cobros y precios", "billing and prices"),
    "product_quality": ("calidad del producto o servicio", "product or service quality"),
    "support_responsiveness": ("falta de respuesta del soporte", "slow support"),
    "staff_attitude": ("el trato del personal", "staff attitude"),
    "app_web_error": ("errores en la app o la web", "app or website errors"),
    "account_access": ("acceso a su cuenta", "account access"),
    "cancellation_by_company": ("cancelaciones por nuestra parte", "cancellations on our side"),
    "lost_damaged_item": ("artículos perdidos o dañados", "lost or damaged items"),
}
_TONE_ES = {"positive": "positivo", "neutral": "neutro", "negative": "negativo"}
_RATING = {"nps": ("NPS", "NPS"), "csat": ("CSAT", "CSAT"), "review": ("valoración", "review")}

Texts = tuple[str, str, dict[str, Any]]


def _pct(v: float) -> int:
    return round(100 * v)


def _get(row: Mapping[str, Any], key: str, default: Any = None) -> Any:
    v = row.get(key, default)
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return default
    return v


def _date(v: Any) -> str:
    return pd.Timestamp(v).strftime("%Y-%m-%d") if v is not None and not pd.isna(v) else "?"


def _ev(r: Mapping[str, Any] | None = None, ids: list[str] | None = None, **facts: Any) -> dict[str, Any]:
    """The one evidence shape: quotes of the cited messages and the facts as name/value text."""
    quotes: list[dict[str, str]] = []
    if r is not None and ids:
        q: Mapping[str, dict[str, str]] = _get(r, "message_quotes", {}) or {}
        quotes = [dict(q[i]) for i in sorted(set(ids), key=lambda i: q.get(i, {}).get("date", ""), reverse=True)
                  if i in q]
    return {"quotes": quotes,
            "facts": [{"name": k, "value": v if isinstance(v, str) else (f"{v:g}" if isinstance(v, float) else str(v))}
                      for k, v in facts.items() if v is not None]}


def _churn_intent(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    ids = [str(i) for i in _get(r, "churn_intent_ids", [])]
    return (f"dice que quiere darse de baja o irse ({len(ids)} mensaje(s) recientes)",
            f"says they want to cancel or leave ({len(ids)} recent message(s))", _ev(r, ids, messages=len(ids)))


def _tone_shift(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    before, after = float(_get(r, "shift_before_mean", 0.0)), float(_get(r, "shift_after_mean", 0.0))
    start = _date(_get(r, "shift_start"))
    ids = [str(i) for i in _get(r, "shift_message_ids", [])]
    return (f"su tono cayó desde el {start}: media {before:+.2f} antes y {after:+.2f} después (escala -1 a 1)",
            f"tone dropped from {start}: mean {before:+.2f} before, {after:+.2f} after (scale -1 to 1)",
            _ev(r, ids, since=start, before_mean=round(before, 3), after_mean=round(after, 3)))


def _negative_tone(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    neg, n, earlier = int(_get(r, "n_negative_last", 0)), int(_get(r, "n_last", 0)), _get(r, "earlier_tone")
    es = f"tono negativo en {neg} de sus últimos {n} mensajes"
    en = f"negative tone in {neg} of their last {n} messages"
    if earlier in ("positive", "neutral"):
        es += f"; antes era {_TONE_ES[earlier]}"
        en += f"; before it was {earlier}"
    ids = [str(i) for i in _get(r, "negative_message_ids", [])]
    return es, en, _ev(r, ids, negative=neg, of_last=n, earlier_tone=earlier)


def _complaints(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    themes: dict[str, int] = dict(_get(r, "complaint_themes", {}))
    top = sorted(themes.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    es = ", ".join(f"{THEME_NAMES.get(t, (t, t))[0]} ({n})" for t, n in top)
    en = ", ".join(f"{THEME_NAMES.get(t, (t, t))[1]} ({n})" for t, n in top)
    ids: dict[str, list[str]] = dict(_get(r, "theme_message_ids", {}))
    cited = sorted({str(i) for t, _ in top for i in ids.get(t, [])})
    return f"se queja de {es}", f"complains about {en}", _ev(r, cited, **{t: n for t, n in top})


def _purchase_drop(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    drop, recent = float(_get(r, "purchase_drop_pct", 0.0)), int(_get(r, "purchases_recent", 0))
    base = float(_get(r, "baseline_rate_per_recent", 0.0))
    return (f"su frecuencia de compra cayó un {_pct(drop)} % frente a su media de 6 meses "
            f"({recent} compras este mes frente a {base:.1f} de media)",
            f"purchase frequency fell {_pct(drop)} % vs their 6-month average "
            f"({recent} purchases this month vs {base:.1f} on average)",
            _ev(drop_pct=_pct(drop), purchases_recent=recent, baseline_per_month=round(base, 2)))


def _no_purchase(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    days, gap = float(_get(r, "days_since_purchase", 0.0)), float(_get(r, "typical_gap_days", 0.0))
    p_gap = float(_get(r, "p_gap", 1.0))
    pct = max(_pct(p_gap), 1) if p_gap > 0 else 0
    return (f"lleva {days:.0f} días sin comprar cuando suele comprar cada {gap:.0f} días: solo un {pct} % "
            f"de sus pausas serían tan largas (modelo BG/NBD)",
            f"{days:.0f} days without a purchase while they usually buy every {gap:.0f} days: only {pct} % "
            f"of their gaps would be this long (BG/NBD model)",
            _ev(days_since_purchase=round(days, 1), typical_gap_days=round(gap, 1), p_gap=round(p_gap, 4)))


def _low_purchase_rate(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    p0, exp = float(_get(r, "p_no_purchase", 0.0)), float(_get(r, "expected_purchases", 0.0))
    return (f"por su ritmo de compra, hay un {_pct(p0)} % de probabilidad de que no compre en {h} días "
            f"(modelo BG/NBD; {exp:.1f} compras esperadas)",
            f"given their buying rhythm, a {_pct(p0)} % chance of no purchase in {h} days "
            f"(BG/NBD model; {exp:.1f} purchases expected)",
            _ev(p_no_purchase=round(p0, 3), expected_purchases=round(exp, 2), horizon_days=h))


def _activity_drop(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    drop, recent = float(_get(r, "activity_drop_pct", 0.0)), int(_get(r, "activity_recent", 0))
    base = float(_get(r, "activity_baseline_rate", 0.0))
    return (f"su actividad (accesos, visitas, clics) cayó un {_pct(drop)} %: {recent} este mes frente a "
            f"{base:.1f} de media",
            f"their activity (logins, page views, clicks) fell {_pct(drop)} %: {recent} this month vs "
            f"{base:.1f} on average",
            _ev(drop_pct=_pct(drop), activity_recent=recent, baseline_per_month=round(base, 2)))


def _inactivity(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    days, last = int(float(_get(r, "days_inactive", 0))), _date(_get(r, "last_activity"))
    return (f"lleva {days} días sin actividad (última: {last})", f"no activity for {days} days (last: {last})",
            _ev(days_inactive=days, last_activity=last))


def _channel(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    ch = [str(x) for x in _get(r, "abandoned_channels", [])]
    return (f"dejó de usar {', '.join(ch)}, que usaba con regularidad",
            f"stopped using {', '.join(ch)}, which they used regularly", _ev(channels=", ".join(ch)))


def _errors(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    n = int(_get(r, "errors_recent", 0))
    return (f"ha sufrido {n} errores en las últimas 2 semanas", f"hit {n} errors in the last 2 weeks", _ev(errors=n))


def _tickets(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    n, hours = int(_get(r, "tickets_unanswered", 0)), float(_get(r, "oldest_unanswered_hours", 0.0))
    ids = [str(x) for x in _get(r, "unanswered_ticket_ids", [])]
    return (f"{n} consulta(s) sin respuesta; la más antigua espera {hours:.0f} h",
            f"{n} ticket(s) unanswered; the oldest has waited {hours:.0f} h",
            _ev(tickets=n, oldest_hours=round(hours, 1), ticket_ids=", ".join(ids) or None))


def _campaign(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    sent, before = int(_get(r, "campaigns_sent_recent", 0)), _get(r, "campaign_response_rate_before")
    es, en = f"no abrió ninguna de las {sent} últimas campañas", f"opened none of the last {sent} campaigns"
    if before:
        es += f" (antes abría el {_pct(float(before))} %)"
        en += f" (used to open {_pct(float(before))} %)"
    return es, en, _ev(sent=sent, response_rate_before=None if before is None else round(float(before), 3))


def _rating_scale(r: Mapping[str, Any]) -> tuple[str, str, str]:
    kind = str(_get(r, "rating_last_type", "review"))
    es, en = _RATING.get(kind, (kind, kind))
    return kind, es, en


def _rating_drop(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    kind, es_name, en_name = _rating_scale(r)
    last, before = float(_get(r, "rating_last", 0.0)), float(_get(r, "rating_before", 0.0))
    when = _date(_get(r, "rating_last_at"))
    return (f"su última {es_name} ({when}) bajó al {_pct(last)} % de la escala; antes daba de media el "
            f"{_pct(before)} %", f"their latest {en_name} ({when}) fell to {_pct(last)} % of the scale, from "
            f"{_pct(before)} % on average before", _ev(rating=kind, last=round(last, 3), before=round(before, 3),
                                                        date=when))


def _detractor(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    kind, es_name, en_name = _rating_scale(r)
    when = _date(_get(r, "rating_last_at"))
    return (f"es detractor: puntuación baja en su última {es_name} ({when})",
            f"a detractor: low score in their latest {en_name} ({when})", _ev(rating=kind, date=when))


def _refunds(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    n = int(_get(r, "refunds_recent", 0))
    return (f"{n} devolución(es) o pedido(s) cancelado(s) en los últimos 3 meses",
            f"{n} refund(s) or cancelled order(s) in the last 3 months", _ev(refunds=n))


def _positive(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    pos, n = int(_get(r, "n_positive_last", 0)), int(_get(r, "n_last", 0))
    return (f"tono positivo en {pos} de sus últimos {n} mensajes", f"positive tone in {pos} of their last {n} messages",
            _ev(positive=pos, of_last=n))


def _recency(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    days = float(_get(r, "days_inactive", 0.0))
    if c > 0:
        return (f"lleva {days:.0f} días sin actividad, más que el cliente típico",
                f"{days:.0f} days without activity, longer than a typical customer", _ev(days_inactive=round(days)))
    return (f"activo recientemente (hace {days:.0f} días)", f"recently active ({days:.0f} days ago)",
            _ev(days_inactive=round(days)))


def _overdue(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    days = float(_get(r, "days_inactive", 0.0))
    gaps = [float(g) for g in (_get(r, "typical_gap_days"), _get(r, "typical_activity_gap_days")) if g is not None]
    gap = min(gaps) if gaps else days
    if c > 0:
        return (f"lleva {days:.0f} días sin actividad cuando suele volver cada {gap:.0f}",
                f"{days:.0f} days without activity while they usually come back every {gap:.0f}",
                _ev(days_inactive=round(days), typical_gap_days=round(gap, 1)))
    return (f"sigue su ritmo habitual (vuelve cada {gap:.0f} días)", f"keeps their usual rhythm (back every "
            f"{gap:.0f} days)", _ev(days_inactive=round(days), typical_gap_days=round(gap, 1)))


def _frequency(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    n = int(float(_get(r, "purchase_days_total", 0)))
    if c > 0:
        return f"cliente frecuente ({n} compras)", f"a frequent customer ({n} purchases)", _ev(purchase_days=n)
    return f"pocas compras en su historial ({n})", f"few purchases in their history ({n})", _ev(purchase_days=n)


def _tenure(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    days = float(_get(r, "tenure_days", 0.0))
    if c > 0:
        return f"cliente de larga duración ({days:.0f} días)", f"a long-standing customer ({days:.0f} days)", _ev(
            tenure_days=round(days))
    return f"cliente reciente (desde hace {days:.0f} días)", f"a recent customer ({days:.0f} days)", _ev(
        tenure_days=round(days))


def _spend(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    value = float(_get(r, "mean_purchase_value", 0.0))
    if c > 0:
        return f"gasto medio alto por compra ({value:.2f})", f"high average spend per purchase ({value:.2f})", _ev(
            mean_purchase_value=round(value, 2))
    return f"gasto medio bajo por compra ({value:.2f})", f"low average spend per purchase ({value:.2f})", _ev(
        mean_purchase_value=round(value, 2))


def _p_no_purchase(r: Mapping[str, Any], v: float, c: float, h: int) -> Texts:
    p0 = float(_get(r, "p_no_purchase", 0.0))
    word_es, word_en = ("alta", "high") if c > 0 else ("baja", "low")
    return (f"probabilidad {word_es} de no comprar en {h} días según su ritmo: {_pct(p0)} % (modelo BG/NBD)",
            f"{word_en} chance of no purchase in {h} days given their rhythm: {_pct(p0)} % (BG/NBD model)",
            _ev(p_no_purchase=round(p0, 3), horizon_days=h))


_REASONS: dict[str, Callable[[Mapping[str, Any], float, float, int], Texts]] = {
    "churn_intent": _churn_intent, "tone_shift": _tone_shift, "negative_tone": _negative_tone,
    "complaints": _complaints, "purchase_drop": _purchase_drop, "no_purchase_expected": _no_purchase,
    "activity_drop": _activity_drop, "inactivity": _inactivity, "channel_abandonment": _channel,
    "repeated_errors": _errors, "unanswered_tickets": _tickets, "campaign_nonresponse": _campaign,
    "rating_drop": _rating_drop, "detractor": _detractor, "refunds": _refunds, "positive_tone": _positive,
    "low_purchase_rate": _low_purchase_rate, "recency": _recency, "overdue": _overdue, "frequency": _frequency,
    "tenure": _tenure, "spend": _spend, "p_no_purchase": _p_no_purchase,
}


def reason_texts(code: str, facts_row: Mapping[str, Any] | None, value: float, delta: float,
                 horizon_days: int = 90) -> Texts:
    """Spanish text, English text and evidence of one reason.

    A feature that is not one of the built-in ones (a model fitted on the user's own columns)
    gets a generic "feature = value" text.
    """
    if code in _REASONS and facts_row is not None:
        return _REASONS[code](facts_row, value, delta, horizon_days)
    return f"{code} = {value:g}", f"{code} = {value:g}", _ev(None, None, **{code: value})
