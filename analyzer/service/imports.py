"""An uploaded export of a known source (``POST /v1/jobs`` with ``source``), imported into the service.

The batch-job runner calls :func:`run_import_job` for a job whose options name a source: the
upload is read by the source's importer (:mod:`analyzer.importers`: the same code as
``darkfeedback import``, e-mail and phone ids pseudonymised with the installation's key), its
messages are analysed and stored (redacted text only, as ``POST /v1/messages`` does), its events
and customers (segment, value tier) stored, and every customer it touched queued for the worker,
which judges them within about a second (and the outbound dispatcher pushes what it raises). The
job's results file holds the analysed messages, its rejected file the import's rejected rows
(reasons, never contents). Ids are deterministic, so uploading the same export twice stores
nothing twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from analyzer.importers import ImportOptions, Pseudonymizer, run_import
from analyzer.io import ChunkWriter, FileFormat, neutralize_formulas
from analyzer.service.db import utcnow
from analyzer.service.store import Store

__all__ = ["IMPORT_EXTENSIONS", "run_import_job"]

IMPORT_EXTENSIONS = (".txt", ".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".xlsx")
_BATCH = 500


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    w = ChunkWriter(path, FileFormat(fmt)).open()  # type: ignore[arg-type]  # jsonl, csv or parquet
    try:
        w.write(neutralize_formulas(frame) if fmt == "csv" else frame)
    finally:
        w.close()
    w.finalize()


def run_import_job(store: Store, analyzer: Any, pseudonymizer: Pseudonymizer, src: Path, results: Path,
                   rejected: Path, options: dict[str, Any], progress: Any = None) -> dict[str, Any]:
    """Import ``src`` as ``options["source"]``, store what it holds, queue its customers; return the summary."""
    source = str(options["source"])
    result = run_import(source, [src], ImportOptions(business=tuple(options.get("business") or ()),
                                                     pseudonymizer=pseudonymizer,
                                                     encoding=options.get("import_encoding")))
    now = utcnow()
    analysed = []
    msgs = result.messages
    for start in range(0, len(msgs), _BATCH):
        part = msgs.iloc[start:start + _BATCH].reset_index(drop=True)
        frame = part.assign(timestamp=pd.to_datetime(part["timestamp"], utc=True))
        out = analyzer.analyze_frame(frame)
        rows = []
        for m, r in zip(part.to_dict("records"), out.to_dict("records"), strict=True):
            rows.append({
                "message_id": m["message_id"], "customer_id": m["customer_id"],
                "timestamp": pd.Timestamp(m["timestamp"]).to_pydatetime(), "channel": m["channel"],
                "lang": r["lang"], "lang_confidence": float(r["lang_confidence"]), "text_redacted": r["text_redacted"],
                "pii_types": list(r["pii_types"]), "sentiment_label": r["sentiment_label"],
                "sentiment_score": float(r["sentiment_score"]), "p_negative": float(r["p_negative"]),
                "p_neutral": float(r["p_neutral"]), "p_positive": float(r["p_positive"]),
                "sentences": list(r["sentences"]), "themes": list(r["themes"]),
                "theme_evidence": list(r["theme_evidence"]), "ingested_at": now})
        store.insert_messages([dict(r) for r in rows])
        analysed += rows
        if progress is not None:
            progress(start + len(part))
    events = [{"event_id": e["event_id"], "customer_id": e["customer_id"],
               "timestamp": pd.Timestamp(e["timestamp"]).to_pydatetime(), "type": e["type"],
               "value": None if e["value"] is None or e["value"] != e["value"] else e["value"],
               "channel": e["channel"], "ingested_at": now} for e in result.events.to_dict("records")]
    created = set()
    for start in range(0, len(events), _BATCH):
        created |= store.insert_events(events[start:start + _BATCH])
    for c in result.customers.to_dict("records"):
        if c.get("segment") is not None or c.get("value_tier") is not None:
            store.upsert_customer(str(c["customer_id"]), segment=c.get("segment"), value_tier=c.get("value_tier"))
    touched = sorted({*result.messages["customer_id"], *result.events["customer_id"]})
    if touched:
        store.enqueue(touched)
    fmt = str(options.get("output_format", "jsonl"))
    columns = ["message_id", "customer_id", "timestamp", "channel", "lang", "text_redacted", "sentiment_label",
               "sentiment_score", "themes"]
    table = pd.DataFrame([{k: r[k] for k in columns} for r in analysed], columns=columns)
    _write(table.assign(timestamp=table["timestamp"].astype(str)), results, fmt)
    _write(result.rejected, rejected, fmt)
    return {**result.summary(), "rows_read": len(msgs) + len(result.events) + len(result.rejected),
            "events_stored": len(created), "customers_queued": len(touched)}
