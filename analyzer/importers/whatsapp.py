"""WhatsApp chat exports (``.txt``, "Export chat" without media), Android and iOS, Spanish and English.

Line formats (a message may continue on the following lines)::

    Android  31/12/23, 21:41 - Ana: Hola            12/31/23, 9:41 PM - Ana: Hi
             31/12/2023, 9:41 p. m. - Ana: Hola
    iOS      [31/12/23, 21:41:05] Ana: Hola         [12/31/23, 9:41:05 PM] Ana: Hi

- A line whose text after the date has no ``Author:`` is a system line (encryption notice, "X
  added Y", "creó el grupo"); iOS writes those, and media, with a leading U+200E mark. System lines,
  media placeholders (``<Media omitted>``, ``<Multimedia omitido>``, ``image omitted``, ``imagen
  omitida``, ``<attached: ...>``) and deleted messages are counted, never analysed.
- The business's own name or number (``--business``, repeatable) marks agent messages: they are
  counted, not analysed (only customer words feed tone). Without ``--business`` the contact named in
  the file name (``WhatsApp Chat with Ana.txt``, ``Chat de WhatsApp con Ana.txt``) is the customer
  and every other author is the business.
- Dates: day first or month first is read from the file itself when a day above 12 shows it; else an
  English ``AM``/``PM`` clock means a US phone (month first); else ``--dayfirst/--monthfirst``
  decides (and always does when given). Times are local (``--timezone``).
- The customer id is the author as the export shows it (a phone number or a contact name), always
  pseudonymised.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from analyzer.errors import InputFormatError
from analyzer.importers.base import Draft, ImportOptions, stable_id
from analyzer.importers.common import Pos, detect_encoding

__all__ = ["import_whatsapp"]

_CLOCK = r"(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?(?:\s?([ap])\.?\s?m\.?)?"
_DATE = r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})"
_ANDROID = re.compile(r"^" + _DATE + r",?\s" + _CLOCK + r"\s[-\u2013]\s(.*)$", re.I)
_IOS = re.compile(r"^\[" + _DATE + r",?\s" + _CLOCK + r"\]\s(.*)$", re.I)
_MARKS = "\u200e\u200f\ufeff\u202a\u202c"
_MEDIA = re.compile(
    r"^(?:<media omitted>|<multimedia omitido>|<archivo omitido>|null|"
    r"(?:image|video|audio|sticker|gif|document|contact card) omitted|"
    r"(?:imagen|video|audio|sticker|gif|documento) omitid[oa]|tarjeta de contacto omitida|"
    r"<(?:attached|adjunto): [^>]*>|.+ \((?:file attached|archivo adjunto)\))$", re.I)
_DELETED = re.compile(r"^(?:this message was deleted|you deleted this message|se elimin[oó] este mensaje\.?|"
                      r"eliminaste este mensaje\.?|este mensaje fue eliminado\.?)$", re.I)
_EDITED = re.compile(r"\s*<(?:this message was edited|se edit[oó] este mensaje\.?)>\s*$", re.I)
_ES_CLOCK = re.compile(r"[ap]\.\s?m\.", re.I)
_CHAT_WITH = re.compile(r"^(?:whatsapp chat with|chat de whatsapp con)\s+(.+?)(?:\s*\(\d+\))?$", re.I)


def _norm_author(name: str) -> str:
    text = name.strip().strip(_MARKS).strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("+") or (digits and len(digits) >= 7 and not re.search(r"[^\d\s+()\-.]", text)):
        return digits[-9:]  # phone: compare on the last 9 digits (with or without country code)
    return " ".join(text.split()).casefold()


def _parse_lines(text: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Messages (with their header fields and line) and the lines that could not be placed."""
    messages: list[dict[str, Any]] = []
    stray: list[int] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.replace("\u202f", " ").replace("\u00a0", " ").lstrip(_MARKS)
        m = _IOS.match(line) or _ANDROID.match(line)
        if m is None:
            if messages:
                messages[-1]["body"] += "\n" + raw
            elif line.strip():
                stray.append(line_no)
            continue
        a, b, year, hh, mm, ss, ampm, rest = m.groups()
        messages.append({"a": int(a), "b": int(b), "year": int(year), "hour": int(hh), "minute": int(mm),
                         "second": int(ss or 0), "ampm": (ampm or "").lower(), "rest": rest, "line": line_no,
                         "body": "", "ampm_style": "es" if _ES_CLOCK.search(line[: m.start(8)]) else "en"})
    return messages, stray


def _timestamp(m: dict[str, Any], dayfirst: bool) -> str:
    day, month = (m["a"], m["b"]) if dayfirst else (m["b"], m["a"])
    year = m["year"] + 2000 if m["year"] < 100 else m["year"]
    hour = m["hour"]
    if m["ampm"] == "p" and hour < 12:
        hour += 12
    elif m["ampm"] == "a" and hour == 12:
        hour = 0
    # An impossible date stays impossible text: the shared finishing step rejects it with a reason.
    return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{m['minute']:02d}:{m['second']:02d}"


def _dayfirst(messages: list[dict[str, Any]], options: ImportOptions) -> bool:
    if options.dayfirst_explicit:
        return options.timestamps.dayfirst
    if any(m["a"] > 12 for m in messages):
        return True
    if any(m["b"] > 12 for m in messages):
        return False
    # No day above 12 to tell: an English AM/PM clock is a US phone (month first); Spanish
    # "a. m."/"p. m." and 24-hour clocks leave it to the policy.
    if any(m["ampm"] and m["ampm_style"] == "en" for m in messages):
        return False
    return options.timestamps.dayfirst


def _read_chat(path: Path, options: ImportOptions, draft: Draft) -> None:
    text = path.read_bytes().decode(detect_encoding(path, options.encoding), errors="replace")
    messages, stray = _parse_lines(text)
    if not messages:
        raise InputFormatError(f"{path.name!r} has no WhatsApp message lines (such as '31/12/23, 21:41 - Ana: Hola' "
                               "or '[31/12/23, 21:41:05] Ana: Hola'); export the chat from WhatsApp with "
                               "'Export chat' > 'Without media' and pass the .txt file.")
    for line_no in stray:
        draft.reject(Pos(path.name, -1, line_no), "messages", "unparsable_line", "",
                     "a line before the first dated message of the chat; not a WhatsApp message line.")
    business = {_norm_author(b) for b in options.business}
    contact: str | None = None
    if not business:
        hit = _CHAT_WITH.match(path.stem.strip())
        if hit is None:
            raise InputFormatError(f"{path.name!r}: which author is the business? Pass --business with the name or "
                                   "number the business writes under (repeat it for several), or keep the export's "
                                   "file name ('WhatsApp Chat with <contact>.txt').")
        contact = _norm_author(hit.group(1))
    dayfirst = _dayfirst(messages, options)
    seen: dict[tuple[str, str, str], int] = {}
    for i, m in enumerate(messages):
        pos = Pos(path.name, i, m["line"])
        author, sep, body = m["rest"].partition(": ")
        if not sep:
            draft.counts["system_lines"] += 1
            continue
        body = (body + m["body"]).strip()
        if body.startswith(tuple(_MARKS)) and not _MEDIA.match(body.lstrip(_MARKS)):
            draft.counts["system_lines"] += 1  # iOS writes system notices under the chat's name, marked
            continue
        body = _EDITED.sub("", body.strip(_MARKS)).strip()
        key = _norm_author(author)
        is_agent = key in business if business else key != contact
        if is_agent:
            draft.counts["agent_messages"] += 1
            continue
        if _MEDIA.match(body):
            draft.counts["media_placeholders"] += 1
            continue
        if _DELETED.match(body):
            draft.counts["deleted_messages"] += 1
            continue
        ts = _timestamp(m, dayfirst)
        n = seen.get((key, ts, body), 0)
        seen[(key, ts, body)] = n + 1
        draft.message(pos, customer_id=author.strip().strip(_MARKS), timestamp=ts, text=body, channel="whatsapp",
                      message_id=stable_id("wa", key, ts, body, n), name_id=True)
        draft.counts["customer_messages"] += 1


def import_whatsapp(paths: list[Path], options: ImportOptions) -> Draft:
    draft = Draft("whatsapp")
    for path in paths:
        if path.suffix.lower() not in (".txt", ".text"):
            raise InputFormatError(f"{path.name!r}: a WhatsApp export is a .txt file ('Export chat' > 'Without "
                                   "media'); unzip a .zip export first.")
        draft.files.append(path.name)
        _read_chat(path, options, draft)
    return draft
