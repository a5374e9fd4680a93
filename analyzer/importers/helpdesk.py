"""Helpdesk exports: Zendesk, Freshdesk and Intercom tickets (conversations) with their comments.

Each source's record is turned into one :class:`Ticket`, and every ticket maps the same way:

- messages: the subject and body of what the **customer** wrote (HTML stripped); agents' replies,
  internal notes and bots never count as the customer's words. A CSAT comment is a message too
  (channel ``csat``);
- events: ``ticket_opened`` (when created), ``ticket_replied`` (each public agent reply),
  ``ticket_resolved`` (solved/closed time; the last update when only the status says so), ``csat``
  (Zendesk good/bad -> 5/1, Freshdesk's seven faces -> 1-5, Intercom 1-5); ``value`` is the ticket id
  (the score for ``csat``).

Formats read (from each vendor's public API and export documentation):

- ``zendesk``: JSON tickets (API or full JSON export: ``comments`` embedded, ``users`` side-loaded or
  in another input file to tell agents from end-users; else the requester is the customer), or a
  CSV/XLSX view export (``Id, Requester email, Subject, Description, Status, Created at, Solved at,
  Satisfaction``).
- ``freshdesk``: JSON tickets (API v2 with ``conversations``: ``incoming`` marks the customer's;
  ``private`` notes skipped; ``requester`` or ``email`` for the customer) or the CSV/XLSX ticket export
  (``Ticket ID, Subject, Description, Status, Created time, Resolved time, Closed time, Email, Survey results``).
- ``intercom``: JSON conversations (API: ``source``, ``conversation_parts``, ``conversation_rating``;
  authors ``user``/``lead`` are the customer, ``admin``/``bot``/``team`` are not) or the CSV conversation
  export (``Conversation ID, Created at, User email, State, Last closed at, Conversation rating, remark``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.importers.base import Draft, ImportOptions
from analyzer.importers.common import Pos, Record, find_column, html_to_text, parse_number, text_of

__all__ = ["Ticket", "import_freshdesk", "import_intercom", "import_zendesk"]

_CLOSED = {"solved", "closed", "resolved", "4", "5", "resuelto", "cerrado"}
_FRESHDESK_FACES = {103: 5.0, 102: 4.5, 101: 4.0, 100: 3.0, -101: 2.0, -102: 1.5, -103: 1.0}
_FRESHDESK_WORDS = {"extremely happy": 103, "very happy": 102, "happy": 101, "neutral": 100, "unhappy": -101,
                    "very unhappy": -102, "extremely unhappy": -103}
_FRESHDESK_SOURCES = {1: "email", 2: "portal", 3: "phone", 7: "chat", 9: "feedback_widget", 10: "email"}


@dataclass
class Ticket:
    """A helpdesk ticket as every source maps it (see the module docstring)."""

    pos: Pos
    id: str
    customer: Any
    created: Any
    channel: str = "ticket"
    subject: str = ""
    body: str = ""  # the customer's opening text
    parts: list[tuple[str, Any, str]] = field(default_factory=list)  # (customer|agent, time, text)
    resolved: Any = None
    closed_status: bool = False
    updated: Any = None
    csat: float | None = None
    csat_at: Any = None
    csat_comment: str = ""


def _emit(t: Ticket, draft: Draft) -> None:
    opening = "\n".join(x for x in (t.subject, t.body) if x).strip()
    if opening:
        draft.message(t.pos, customer_id=t.customer, timestamp=t.created, text=opening, channel=t.channel,
                      message_id=f"{draft.source}:{t.id}:0", record_id=t.id)
    draft.event(t.pos, customer_id=t.customer, timestamp=t.created, type="ticket_opened", value=t.id,
                channel=t.channel, event_id=f"{draft.source}:{t.id}:opened", record_id=t.id)
    for i, (role, at, text) in enumerate(t.parts, start=1):
        if role == "customer":
            if text and text != t.body:
                draft.message(t.pos, customer_id=t.customer, timestamp=at, text=text, channel=t.channel,
                              message_id=f"{draft.source}:{t.id}:{i}", record_id=t.id)
        elif role == "agent":
            draft.event(t.pos, customer_id=t.customer, timestamp=at, type="ticket_replied", value=t.id,
                        channel=t.channel, event_id=f"{draft.source}:{t.id}:reply:{i}", record_id=t.id)
            draft.counts["agent_replies"] += 1
        else:
            draft.counts["notes_skipped"] += 1
    resolved = t.resolved if text_of(t.resolved) else (t.updated if t.closed_status else None)
    if text_of(resolved):
        draft.event(t.pos, customer_id=t.customer, timestamp=resolved, type="ticket_resolved", value=t.id,
                    channel=t.channel, event_id=f"{draft.source}:{t.id}:resolved", record_id=t.id)
    if t.csat is not None:
        at = next((x for x in (t.csat_at, resolved, t.updated, t.created) if text_of(x)), None)
        draft.event(t.pos, customer_id=t.customer, timestamp=at, type="csat", value=t.csat, channel=t.channel,
                    event_id=f"{draft.source}:{t.id}:csat", record_id=t.id)
        if t.csat_comment:
            draft.message(t.pos, customer_id=t.customer, timestamp=at, text=t.csat_comment, channel="csat",
                          message_id=f"{draft.source}:{t.id}:csat", record_id=t.id)
    draft.counts["tickets"] += 1


def _get(values: dict[str, Any], *names: str) -> Any:
    col = find_column(values.keys(), *names)
    return values.get(col) if col is not None else None


def _nested(value: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(k)
    return value


# --------------------------------------------------------------------------- zendesk


def _zendesk_csat(value: Any) -> float | None:
    score = _nested(value, "score") if isinstance(value, dict) else value
    text = text_of(score).lower()
    if text in ("good", "good, i'm satisfied", "bueno", "satisfied"):
        return 5.0
    if text in ("bad", "bad, i'm unsatisfied", "malo", "unsatisfied"):
        return 1.0
    return parse_number(score) if text and text not in ("offered", "unoffered") else None


def _zendesk_json(rec: Record, roles: dict[str, str], emails: dict[str, str]) -> Ticket:
    v = rec.values
    tid = text_of(v.get("id"))
    requester = text_of(v.get("requester_id"))
    customer = (_nested(v, "requester", "email") or emails.get(requester) or requester)
    parts: list[tuple[str, Any, str]] = []
    body = html_to_text(v.get("description"))
    for c in v.get("comments") or []:
        if not isinstance(c, dict):
            continue
        author = text_of(c.get("author_id"))
        role = roles.get(author) or ("customer" if author == requester else "agent")
        if c.get("public") is False:
            role = "note"
        text = html_to_text(c.get("plain_body") or c.get("body") or c.get("html_body"))
        parts.append((role, c.get("created_at"), text))
    if parts and parts[0][0] == "customer" and parts[0][2]:
        body = parts[0][2]  # the first comment is the description; count it once
        parts = parts[1:]
    rating = v.get("satisfaction_rating")
    return Ticket(rec.pos, tid, customer, v.get("created_at"), text_of(_nested(v, "via", "channel")) or "ticket",
                  html_to_text(v.get("subject") or v.get("raw_subject")), body, parts,
                  _nested(v, "metric_set", "solved_at") or v.get("solved_at"),
                  text_of(v.get("status")).lower() in _CLOSED, v.get("updated_at"), _zendesk_csat(rating),
                  _nested(rating, "created_at") or _nested(rating, "updated_at"),
                  html_to_text(_nested(rating, "comment")))


def _zendesk_row(rec: Record) -> Ticket:
    v = rec.values
    tid = text_of(_get(v, "Id", "Ticket ID", "ID del ticket"))
    customer = _get(v, "Requester email", "Requester e-mail", "Email del solicitante", "Requester", "Solicitante")
    return Ticket(rec.pos, tid, customer, _get(v, "Created at", "Requested", "Created", "Creado", "Solicitado"),
                  text_of(_get(v, "Via", "Channel", "Canal")).lower() or "ticket",
                  html_to_text(_get(v, "Subject", "Asunto")), html_to_text(_get(v, "Description", "Descripción")), [],
                  _get(v, "Solved at", "Solved", "Resuelto"),
                  text_of(_get(v, "Status", "Estado")).lower() in _CLOSED, _get(v, "Updated at", "Updated",
                                                                                 "Actualizado"),
                  _zendesk_csat(_get(v, "Satisfaction", "Satisfaction score", "Satisfacción")), None,
                  html_to_text(_get(v, "Satisfaction comment", "Comentario de satisfacción")))


def _is_user(v: dict[str, Any]) -> bool:
    return "role" in v and "subject" not in v and "email" in v


def import_zendesk(paths: list[Path], options: ImportOptions) -> Draft:
    from analyzer.importers.common import json_side_list

    draft = Draft("zendesk")
    files = [(p, options.read(p))
             for p in paths]
    roles: dict[str, str] = {}
    emails: dict[str, str] = {}
    for p, recs in files:
        users = [r.values for r in recs if _is_user(r.values)] + json_side_list(p, "users", encoding=options.encoding)
        for u in users:
            uid = text_of(u.get("id"))
            roles[uid] = "customer" if text_of(u.get("role")) in ("end-user", "end_user", "") else "agent"
            if text_of(u.get("email")):
                emails[uid] = text_of(u.get("email"))
    for p, recs in files:
        draft.files.append(p.name)
        for rec in draft.readable(recs, "messages"):
            if _is_user(rec.values):
                continue
            elif "requester_id" in rec.values or "comments" in rec.values:
                _emit(_zendesk_json(rec, roles, emails), draft)
            else:
                _emit(_zendesk_row(rec), draft)
    return draft


# --------------------------------------------------------------------------- freshdesk


def _freshdesk_csat(value: Any) -> float | None:
    if isinstance(value, list):
        value = value[-1] if value else None
    if isinstance(value, dict):
        value = _nested(value, "ratings", "default_question") if "ratings" in value else value.get("rating")
    text = text_of(value).lower()
    if text in _FRESHDESK_WORDS:
        return _FRESHDESK_FACES[_FRESHDESK_WORDS[text]]
    num = parse_number(value)
    if num is None:
        return None
    return _FRESHDESK_FACES.get(int(num), num if 1 <= num <= 5 else None)


def _freshdesk_json(rec: Record) -> Ticket:
    v = rec.values
    tid = text_of(v.get("id"))
    customer = _nested(v, "requester", "email") or v.get("email") or v.get("requester_id")
    parts: list[tuple[str, Any, str]] = []
    for c in v.get("conversations") or []:
        if isinstance(c, dict):
            role = "note" if c.get("private") else ("customer" if c.get("incoming") else "agent")
            parts.append((role, c.get("created_at"), html_to_text(c.get("body_text") or c.get("body"))))
    ratings = v.get("satisfaction_ratings") or v.get("satisfaction_rating")
    last = ratings[-1] if isinstance(ratings, list) and ratings else ratings
    source = v.get("source")
    return Ticket(rec.pos, tid, customer, v.get("created_at"),
                  _FRESHDESK_SOURCES.get(int(source), "ticket") if isinstance(source, int) else "ticket",
                  html_to_text(v.get("subject")), html_to_text(v.get("description_text") or v.get("description")),
                  parts, _nested(v, "stats", "resolved_at") or _nested(v, "stats", "closed_at"),
                  text_of(v.get("status")).lower() in _CLOSED, v.get("updated_at"), _freshdesk_csat(ratings),
                  _nested(last, "created_at"), html_to_text(_nested(last, "feedback")))


def _freshdesk_row(rec: Record) -> Ticket:
    v = rec.values
    return Ticket(rec.pos, text_of(_get(v, "Ticket ID", "Ticket Id", "ID")),
                  _get(v, "Email", "Requester email", "Contact email", "Correo electrónico", "Contact ID"),
                  _get(v, "Created time", "Created at", "Hora de creación"),
                  text_of(_get(v, "Source", "Origen")).lower() or "ticket", html_to_text(_get(v, "Subject", "Asunto")),
                  html_to_text(_get(v, "Description", "Descripción")), [],
                  _get(v, "Resolved time", "Hora de resolución") or _get(v, "Closed time", "Hora de cierre"),
                  text_of(_get(v, "Status", "Estado")).lower() in _CLOSED,
                  _get(v, "Last update time", "Última actualización"),
                  _freshdesk_csat(_get(v, "Survey results", "Satisfaction rating", "Customer satisfaction")),
                  None, html_to_text(_get(v, "Survey feedback", "Satisfaction feedback")))


def import_freshdesk(paths: list[Path], options: ImportOptions) -> Draft:
    return _simple("freshdesk", paths, options, lambda r: "conversations" in r.values or "requester_id" in r.values,
                   _freshdesk_json, _freshdesk_row)


# --------------------------------------------------------------------------- intercom


def _intercom_role(author: Any) -> str:
    kind = text_of(_nested(author, "type")).lower()
    return "customer" if kind in ("user", "lead", "contact") else "agent"


def _intercom_json(rec: Record) -> Ticket:
    v = rec.values
    src = v.get("source") or {}
    contacts = _nested(v, "contacts", "contacts") or []
    first = contacts[0] if contacts and isinstance(contacts[0], dict) else {}
    author = src.get("author") if isinstance(src, dict) else None
    customer = ((_nested(author, "email") if _intercom_role(author) == "customer" else None)
                or first.get("email") or first.get("external_id") or first.get("id"))
    body = html_to_text(src.get("body")) if _intercom_role(author) == "customer" else ""
    parts: list[tuple[str, Any, str]] = []
    resolved = None
    for p in _nested(v, "conversation_parts", "conversation_parts") or []:
        if not isinstance(p, dict):
            continue
        kind = text_of(p.get("part_type")).lower()
        if kind == "close":
            resolved = p.get("created_at")
        if kind in ("comment", "open") and text_of(p.get("body")):
            role = _intercom_role(p.get("author"))
            if text_of(_nested(p, "author", "type")).lower() == "bot":
                role = "note"
            parts.append((role, p.get("created_at"), html_to_text(p.get("body"))))
        elif kind == "note":
            parts.append(("note", p.get("created_at"), ""))
    rating = v.get("conversation_rating") or {}
    return Ticket(rec.pos, text_of(v.get("id")), customer, v.get("created_at"),
                  text_of(_nested(src, "type")).lower() or "chat", html_to_text(_nested(src, "subject")), body, parts,
                  resolved or _nested(v, "statistics", "last_close_at"), text_of(v.get("state")).lower() == "closed",
                  v.get("updated_at"), parse_number(_nested(rating, "rating")), _nested(rating, "created_at"),
                  html_to_text(_nested(rating, "remark")))


def _intercom_row(rec: Record) -> Ticket:
    v = rec.values
    return Ticket(rec.pos, text_of(_get(v, "Conversation ID", "Conversation id", "ID")),
                  _get(v, "User email", "Email", "Contact email", "User ID", "External ID"),
                  _get(v, "Created at", "Conversation started at", "Started at"), "chat",
                  html_to_text(_get(v, "Subject", "Title")), html_to_text(_get(v, "First message", "Initial message")),
                  [], _get(v, "Last closed at", "Closed at"), text_of(_get(v, "State", "Status")).lower() == "closed",
                  _get(v, "Updated at", "Last updated at"), parse_number(_get(v, "Conversation rating", "Rating")),
                  _get(v, "Rating created at", "Rated at"),
                  html_to_text(_get(v, "Conversation rating remark", "Rating remark")))


def import_intercom(paths: list[Path], options: ImportOptions) -> Draft:
    return _simple("intercom", paths, options,
                   lambda r: "conversation_parts" in r.values or isinstance(r.values.get("source"), dict),
                   _intercom_json, _intercom_row)


def _simple(source: str, paths: list[Path], options: ImportOptions, is_json: Callable[[Record], bool],
            from_json: Callable[[Record], Ticket], from_row: Callable[[Record], Ticket]) -> Draft:
    draft = Draft(source)
    for p in paths:
        draft.files.append(p.name)
        for rec in draft.readable(options.read(p), "messages"):
            _emit(from_json(rec) if is_json(rec) else from_row(rec), draft)
    return draft
