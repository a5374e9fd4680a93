"""Source profiles: a YAML file that maps any other export's columns onto the three tables.

::

    # my_shop.yaml -- darkfeedback import --source profile --profile my_shop.yaml export.csv -o out/
    messages:
      customer_id: Cliente              # a column of the file
      timestamp: Fecha
      text: [Asunto, Mensaje]           # one column, or several joined by a line break
      channel: {value: email}           # a column, or a constant {value: ...}
      message_id: Id                    # optional (else a stable id from the row)
      author: Autor                     # optional: rows whose author is in agent_values are not
      agent_values: [agente, soporte]   #   the customer's words and are skipped
      html: true                        # optional: strip HTML from the text
    events:                             # one mapping, or a list of them (one per kind of event)
      - customer_id: Cliente
        timestamp: Fecha
        type: Tipo                      # a column, translated by type_map ...
        type_map: {compra: purchase, devolución: refund}
        value: Importe                  # amounts read with decimal commas too (1.234,56)
      - customer_id: Cliente
        timestamp: Fecha encuesta
        type: {value: nps}              # ... or a constant
        value: Nota
        skip_empty: [Nota]              # rows where these columns are empty are not events of this block
    customers:
      customer_id: Cliente
      segment: Segmento
      value_tier: Nivel                 # low, medium, high, vip (else from value by rank)
      value: Facturación
      owner: Gestor
      opt_out: Baja

Every block is optional, but a profile needs at least one. Each block applies to every input
file. A key the profile does not know, an event type outside the product's list or a column the
file does not have is an error that names it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from analyzer.errors import ConfigError, InputFormatError
from analyzer.importers.base import Draft, ImportOptions
from analyzer.importers.common import Record, html_to_text, norm_header, text_of
from analyzer.schema import EVENT_TYPES

__all__ = ["Profile", "import_profile", "load_profile"]

_KEYS = {
    "messages": ({"customer_id", "timestamp", "text"}, {"channel", "message_id", "author", "agent_values", "html",
                                                        "skip_empty"}),
    "events": ({"customer_id", "timestamp", "type"}, {"type_map", "value", "channel", "event_id", "skip_empty"}),
    "customers": ({"customer_id"}, {"segment", "value_tier", "value", "owner", "opt_out", "skip_empty"}),
}
_COLUMN_FIELDS = {"customer_id", "timestamp", "text", "channel", "message_id", "author", "type", "value", "event_id",
                  "segment", "value_tier", "owner", "opt_out"}


class Profile:
    """A checked profile: ``blocks`` maps each table to its list of field mappings."""

    def __init__(self, blocks: dict[str, list[dict[str, Any]]], where: str) -> None:
        self.blocks, self.where = blocks, where

    def columns(self) -> set[str]:
        """Every column the profile reads."""
        out: set[str] = set()
        for blocks in self.blocks.values():
            for b in blocks:
                for k, v in b.items():
                    if k in _COLUMN_FIELDS:
                        out.update(c for c in (v if isinstance(v, list) else [v]) if isinstance(c, str))
                    elif k == "skip_empty":
                        out.update(v)
        return out


def _check_block(table: str, block: Any, where: str) -> dict[str, Any]:
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: '{table}' must be a mapping of fields to columns; received {block!r}.")
    required, optional = _KEYS[table]
    missing = sorted(required - set(block))
    unknown = sorted(set(block) - required - optional)
    if missing or unknown:
        raise ConfigError(f"{where}: '{table}' " + (f"lacks {missing} " if missing else "")
                          + (f"has unknown key(s) {unknown} " if unknown else "")
                          + f"(required: {sorted(required)}; optional: {sorted(optional)}).")
    for key, value in block.items():
        if key in _COLUMN_FIELDS:
            ok = (isinstance(value, str) and value) or (isinstance(value, dict) and set(value) == {"value"}) or (
                key == "text" and isinstance(value, list) and value and all(isinstance(v, str) for v in value))
            if not ok:
                raise ConfigError(f"{where}: '{table}.{key}' must be a column name or {{value: constant}}; "
                                  f"received {value!r}.")
    if "skip_empty" in block:
        se = block["skip_empty"]
        block["skip_empty"] = [se] if isinstance(se, str) else se
        if not isinstance(block["skip_empty"], list):
            raise ConfigError(f"{where}: '{table}.skip_empty' must be a list of columns; received {se!r}.")
    if table == "events":
        fixed = block["type"].get("value") if isinstance(block["type"], dict) else None
        targets = [fixed] if fixed is not None else list((block.get("type_map") or {}).values())
        bad = sorted({str(t) for t in targets if t not in EVENT_TYPES})
        if bad:
            raise ConfigError(f"{where}: event type(s) {bad} are not among {list(EVENT_TYPES)}; map your values "
                              "onto these with type_map.")
        if "type_map" in block and not isinstance(block["type_map"], dict):
            raise ConfigError(f"{where}: 'events.type_map' must map your values to event types.")
    return block


def load_profile(path: str | Path) -> Profile:
    """Read and check a profile (see the module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"source profile {str(p)!r} does not exist; write a YAML file as described in "
                          "`darkfeedback import --help` (see analyzer/importers/profile.py).")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p} is not valid YAML: {exc}") from exc
    where = str(p)
    if not isinstance(raw, dict) or not set(raw) & set(_KEYS):
        raise ConfigError(f"{where}: a profile needs at least one of 'messages', 'events' and 'customers'.")
    unknown = sorted(set(raw) - set(_KEYS) - {"name"})
    if unknown:
        raise ConfigError(f"{where}: unknown top-level key(s) {unknown}; use messages, events, customers (and name).")
    blocks: dict[str, list[dict[str, Any]]] = {}
    for table in _KEYS:
        if raw.get(table) is None:
            continue
        items = raw[table] if isinstance(raw[table], list) else [raw[table]]
        blocks[table] = [_check_block(table, b, where) for b in items]
    return Profile(blocks, where)


def _value(rec: Record, spec: Any, html: bool = False) -> Any:
    if isinstance(spec, dict):
        return spec["value"]
    if isinstance(spec, list):
        parts = [html_to_text(rec.values.get(c)) if html else text_of(rec.values.get(c)) for c in spec]
        return "\n".join(p for p in parts if p)
    value = rec.values.get(spec)
    return html_to_text(value) if html else value


def _skip(rec: Record, block: dict[str, Any]) -> bool:
    return any(not text_of(rec.values.get(c)) for c in block.get("skip_empty", []))


def _apply(rec: Record, blocks: dict[str, list[dict[str, Any]]], draft: Draft) -> None:
    for b in blocks.get("customers", []):
        if not _skip(rec, b):
            draft.customer(rec.pos, customer_id=_value(rec, b["customer_id"]), segment=_value(rec, b.get("segment")),
                           value_tier=_value(rec, b.get("value_tier")), value=_value(rec, b.get("value")),
                           owner=_value(rec, b.get("owner")), opt_out=_value(rec, b.get("opt_out")))
    for b in blocks.get("messages", []):
        if _skip(rec, b):
            continue
        agents = {norm_header(a) for a in b.get("agent_values") or []}
        if "author" in b and norm_header(text_of(_value(rec, b["author"]))) in agents:
            draft.counts["agent_messages"] += 1
            continue
        draft.message(rec.pos, customer_id=_value(rec, b["customer_id"]), timestamp=_value(rec, b["timestamp"]),
                      text=_value(rec, b["text"], bool(b.get("html"))),
                      channel=text_of(_value(rec, b.get("channel"))) or "unknown",
                      message_id=_value(rec, b.get("message_id")))
    for b in blocks.get("events", []):
        if _skip(rec, b):
            continue
        raw_type = text_of(_value(rec, b["type"]))
        mapping = {norm_header(k): v for k, v in (b.get("type_map") or {}).items()}
        etype = mapping.get(norm_header(raw_type), raw_type.lower())
        draft.event(rec.pos, customer_id=_value(rec, b["customer_id"]), timestamp=_value(rec, b["timestamp"]),
                    type=etype, value=_value(rec, b.get("value")),
                    channel=text_of(_value(rec, b.get("channel"))) or "unknown",
                    event_id=_value(rec, b.get("event_id")))


def import_profile(paths: list[Path], options: ImportOptions) -> Draft:
    if options.profile is None:
        raise ConfigError("--source profile needs --profile FILE.yaml (the column mapping); see "
                          "`darkfeedback import --help`.")
    profile = load_profile(options.profile)
    draft = Draft(f"profile:{Path(options.profile).stem}")
    wanted = profile.columns()
    for p in paths:
        draft.files.append(p.name)
        recs = options.read(p)
        present = next((set(r.values) for r in recs if not r.error), set())
        missing = sorted(wanted - present)
        if recs and missing:
            raise InputFormatError(f"{p.name!r} lacks the column(s) {missing} that {profile.where} names; its columns: "
                                   f"{sorted(present)}. Fix the profile or the file.")
        for rec in draft.readable(recs, "messages"):
            _apply(rec, profile.blocks, draft)
    return draft
