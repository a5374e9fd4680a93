"""Shop and web analytics: Shopify orders and customers, Google Analytics 4 events.

- ``shopify``: the admin's orders CSV export (one row per line item; the order's fields on its first
  row: ``Name, Email, Financial Status, Paid at, Created at, Cancelled at, Total, Refunded Amount,
  Phone``). Per order: ``purchase`` (``Created at``, ``Total``) unless voided or cancelled;
  ``order_cancelled`` at ``Cancelled at``; ``refund`` (``Refunded Amount``, or ``Total`` when the status
  is ``refunded``) dated ``Refunded at`` when the file has it, else the cancellation, else the payment
  date (the export has no refund date; counted as ``refunds_dated_by_order``). The customer is the
  e-mail, else the phone, pseudonymised. A customers export (``Email, Total Spent``) fills the
  customers table (value = total spent).
- ``ga4``: the BigQuery export of Google Analytics 4 (newline-delimited JSON as ``bq extract`` writes it,
  a JSON array, or CSV): ``event_timestamp`` (microseconds), ``event_name``, ``user_id``,
  ``event_params``, ``ecommerce``. ``event_name`` maps to login (login, sign_in), page_view (page_view,
  screen_view), click (click, select_content, select_item, select_promotion), purchase (purchase,
  in_app_purchase; value = ``ecommerce.purchase_revenue`` or the ``value`` parameter), refund, error
  (exception, app_exception, error); other names are counted and skipped. Events join the other
  tables on ``user_id`` (the site's own customer id); anonymous events (no ``user_id``) are counted
  and skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analyzer.importers.base import Draft, ImportOptions, stable_id
from analyzer.importers.common import find_column, parse_number, text_of

__all__ = ["GA4_EVENTS", "import_ga4", "import_shopify"]

GA4_EVENTS: dict[str, str] = {
    "login": "login", "sign_in": "login", "page_view": "page_view", "screen_view": "page_view",
    "click": "click", "select_content": "click", "select_item": "click", "select_promotion": "click",
    "purchase": "purchase", "in_app_purchase": "purchase", "refund": "refund",
    "exception": "error", "app_exception": "error", "error": "error",
}


def _get(v: dict[str, Any], *names: str) -> Any:
    col = find_column(v.keys(), *names)
    return v.get(col) if col is not None else None


def import_shopify(paths: list[Path], options: ImportOptions) -> Draft:
    draft = Draft("shopify")
    spent: dict[str, float] = {}
    first_seen: dict[str, Any] = {}
    for p in paths:
        draft.files.append(p.name)
        seen: set[str] = set()
        for rec in draft.readable(options.read(p), "events"):
            v = rec.values
            email = text_of(_get(v, "Email", "Customer Email"))
            phone = text_of(_get(v, "Phone", "Billing Phone", "Shipping Phone", "Default Address Phone"))
            order = text_of(_get(v, "Name", "Order", "Order Name"))
            if not order:
                if find_column(v.keys(), "Total Spent", "Customer ID") is not None:  # the customers export
                    draft.customer(rec.pos, customer_id=email or phone, record_id=_get(v, "Customer ID"),
                                   value=_get(v, "Total Spent"), segment=_get(v, "Tags"))
                    draft.counts["customers"] += 1
                    continue
                draft.reject(rec.pos, "events", "missing_order", "Name",
                             "no order number (the 'Name' column, e.g. #1001); is this a Shopify orders export?")
                continue
            if order in seen:
                continue  # a further line item of the same order
            seen.add(order)
            customer = email or phone
            created = _get(v, "Created at", "Paid at")
            cancelled = _get(v, "Cancelled at")
            status = text_of(_get(v, "Financial Status")).lower()
            total = _get(v, "Total")
            if status != "voided" and not text_of(cancelled):
                draft.event(rec.pos, customer_id=customer, timestamp=created, type="purchase", value=total,
                            channel="shop", event_id=f"shopify:{order}:purchase", record_id=order)
            if text_of(cancelled):
                draft.event(rec.pos, customer_id=customer, timestamp=cancelled, type="order_cancelled", value=total,
                            channel="shop", event_id=f"shopify:{order}:cancelled", record_id=order)
            refunded = parse_number(_get(v, "Refunded Amount"), options.decimal)
            if (refunded or 0) <= 0 and status == "refunded":
                refunded = parse_number(total, options.decimal)
            if refunded and refunded > 0:
                when = _get(v, "Refunded at")
                if not text_of(when):
                    when = cancelled if text_of(cancelled) else (_get(v, "Paid at") or created)
                    draft.counts["refunds_dated_by_order"] += 1
                draft.event(rec.pos, customer_id=customer, timestamp=when, type="refund", value=refunded,
                            channel="shop", event_id=f"shopify:{order}:refund", record_id=order)
            if customer:
                first_seen.setdefault(customer, rec.pos)
            if customer and status != "voided" and not text_of(cancelled):
                spent[customer] = (spent.get(customer, 0.0) + (parse_number(total, options.decimal) or 0.0)
                                   - (refunded or 0.0))
            draft.counts["orders"] += 1
    for customer, pos in first_seen.items():  # value = what the customer spent, net of refunds
        draft.customer(pos, customer_id=customer, value=round(spent.get(customer, 0.0), 2))
    return draft


def _params(value: Any) -> dict[str, Any]:
    """GA4 ``event_params`` ([{key, value: {string_value, int_value, ...}}], or its JSON text) as a dict."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    out: dict[str, Any] = {}
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("value"), dict):
                v = item["value"]
                kinds = ("string_value", "int_value", "double_value", "float_value")
                out[text_of(item.get("key"))] = next((v[k] for k in kinds if v.get(k) is not None), None)
    return out


def _ga4_time(v: dict[str, Any]) -> Any:
    micros = parse_number(_get(v, "event_timestamp"))
    if micros is not None:
        return micros / 1e6
    day = text_of(_get(v, "event_date"))
    return f"{day[:4]}-{day[4:6]}-{day[6:8]}" if len(day) == 8 and day.isdigit() else day


def import_ga4(paths: list[Path], options: ImportOptions) -> Draft:
    draft = Draft("ga4")
    for p in paths:
        draft.files.append(p.name)
        for rec in draft.readable(options.read(p), "events"):
            v = rec.values
            name = text_of(_get(v, "event_name")).lower()
            kind = GA4_EVENTS.get(name)
            if kind is None:
                draft.counts[f"skipped:{name or '(no event_name)'}"] += 1
                continue
            user = text_of(_get(v, "user_id"))
            if not user:
                draft.counts["anonymous_events"] += 1
                continue
            params = _params(_get(v, "event_params"))
            ecommerce = _get(v, "ecommerce")
            ecommerce = ecommerce if isinstance(ecommerce, dict) else {}
            value: Any = None
            if kind == "purchase":
                value = ecommerce.get("purchase_revenue") or _get(v, "purchase_revenue", "ecommerce.purchase_revenue",
                                                                   "value") or params.get("value")
            elif kind == "refund":
                value = ecommerce.get("refund_value") or _get(v, "refund_value") or params.get("value")
            draft.event(rec.pos, customer_id=user, timestamp=_ga4_time(v), type=kind, value=value,
                        channel=text_of(_get(v, "platform")).lower() or "web",
                        event_id=stable_id("ga4", _get(v, "user_pseudo_id"), _get(v, "event_timestamp"), name,
                                           _get(v, "event_bundle_sequence_id"), _get(v, "batch_event_index"),
                                           json.dumps(params, sort_keys=True, default=str)),
                        record_id=_get(v, "event_bundle_sequence_id"))
            draft.counts[f"mapped:{name}"] += 1
    return draft
