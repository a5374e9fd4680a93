"""Path, query and header parameters, bounded like the request bodies (see :mod:`analyzer.service.schemas`).

A path id obeys the body's id rule, and more strictly: the body strips surrounding whitespace,
a path id with it is refused (422), so ``PUT /v1/customers/%20C1`` cannot create a look-alike of
``C1``. Integers that reach SQL are at most :data:`MAX_SQL_INT` (a 64-bit signed integer: larger
ones overflow the SQLite driver); the ids of rows (API keys, feed entries) at most :data:`MAX_ROW_ID`
(the largest PostgreSQL ``integer``: the query casts its parameter to the column's type).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header, HTTPException, Path, Query

from analyzer.service.schemas import ID_PATTERN, MAX_ID_CHARS, Timestamp

__all__ = ["MAX_ROW_ID", "MAX_SQL_INT", "ActionQuery", "AfterId", "AlertIdPath", "CustomerIdPath", "IdQuery",
           "JobIdPath", "KeyIdPath", "LastEventId", "Offset", "SinceQuery", "parse_last_event_id"]

MAX_SQL_INT = 2**63 - 1
MAX_ROW_ID = 2**31 - 1

CustomerIdPath = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN,
                                     description="The customer's id, as sent in messages and events.")]
AlertIdPath = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
JobIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$",
                                description="The job's id, as returned by POST /v1/jobs.")]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
ActionQuery = Annotated[str | None, Query(min_length=1, max_length=40, pattern=ID_PATTERN,
                                          description="A recommended action of the rule table, e.g. priority_call.")]
Offset = Annotated[int, Query(ge=0, le=MAX_SQL_INT, description="Items to skip.")]
KeyIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The key's id, as listed by GET /v1/keys.")]
AfterId = Annotated[int | None, Query(ge=0, le=MAX_ROW_ID, description="Replay feed entries after this id "
                                                                         "(default: only new ones).")]
SinceQuery = Annotated[Timestamp | None, Query(description="Raised at or after this time (ISO 8601, years "
                                                           "1900-2200; without a zone, UTC).")]
LastEventId = Annotated[str | None, Header(max_length=40, description="The id of the last feed entry received "
                                                                      "(sent by EventSource when it reconnects).")]

_DIGITS = re.compile(r"[0-9]+")


def parse_last_event_id(value: str | None) -> int | None:
    """The feed id a reconnecting client sent, or None when it sent none or not a number.

    422 when it is a number beyond :data:`MAX_ROW_ID` (no feed id can be that large).
    """
    if value is None or not _DIGITS.fullmatch(value.strip()):
        return None
    text = value.strip().lstrip("0") or "0"
    if len(text) > len(str(MAX_ROW_ID)) or int(text) > MAX_ROW_ID:
        raise HTTPException(422, f"Last-Event-ID must be a feed id of at most {MAX_ROW_ID}; received {text[:20]}.")
    return int(text)
