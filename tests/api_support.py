"""Shared helpers of the tests/test_api_*.py files: a TEST DOUBLE of the text analyzer and app fixtures.

``FakeTextAnalyzer`` is a deterministic stand-in for :class:`analyzer.text.pipeline.TextAnalyzer` (the
real one needs the trained models and ~10 s to load). It honours the same contract
(``analyze_frame(frame) -> frame`` with the pipeline's output columns) and runs the REAL PII
redaction (regex layer), so privacy tests exercise real redaction; sentiment and themes come
from keyword rules. One slow test (test_api_real_model.py) runs the real analyzer end to end.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from analyzer.service import create_app
from analyzer.settings import Settings
from analyzer.text.pii import redact_batch
from analyzer.text.pipeline import OUTPUT_COLUMNS

ADMIN_KEY = "dfk_test_admin_key_0123456789abcdefghijklmnop"
NEGATIVE = ("baja", "cancel", "fatal", "terrible", "leave", "worst", "retraso", "harto", "falla")
POSITIVE = ("gracias", "great", "thanks", "genial", "encanta")
THEMES = {"churn_intent": ("baja", "cancel", "leave", "irme"), "delivery_delay": ("retraso", "delay", "late")}


class FakeTextAnalyzer:
    """TEST DOUBLE: keyword sentiment/themes, real regex PII redaction, pipeline output columns."""

    def __init__(self) -> None:
        self.calls = 0
        self.texts_seen = 0

    def analyze_frame(self, frame: pd.DataFrame, text_column: str = "text") -> pd.DataFrame:
        self.calls += 1
        texts = frame[text_column].astype(str).tolist()
        self.texts_seen += len(texts)
        langs = ["es" if any(w in t.lower() for w in (" el ", " la ", "que", "mi ", "pedido", "baja")) else "en"
                 for t in texts]
        red = [r.text for r in redact_batch(texts, langs, use_ner=False)]
        types = [sorted(set(r.types)) for r in redact_batch(texts, langs, use_ner=False)]
        out = frame.drop(columns=[text_column]).copy()
        rows = []
        for t, lang, rt, ty in zip(texts, langs, red, types, strict=True):
            low = t.lower()
            neg, pos = any(w in low for w in NEGATIVE), any(w in low for w in POSITIVE)
            label = "negative" if neg else "positive" if pos else "neutral"
            p = {"negative": (0.9, 0.05, 0.05), "positive": (0.05, 0.05, 0.9), "neutral": (0.1, 0.8, 0.1)}[label]
            themes = [th for th, words in THEMES.items() if any(w in low for w in words)]
            evidence = []
            for th in themes:
                w = next(w for w in THEMES[th] if w in rt.lower())
                i = rt.lower().find(w)
                evidence.append({"theme": th, "probability": 0.9, "evidence": rt[i:i + len(w)], "start": i,
                                 "end": i + len(w)})
            rows.append({"lang": lang, "lang_confidence": 0.9, "text_redacted": rt, "pii_types": ty,
                         "sentiment_label": label, "sentiment_score": round(p[2] - p[0], 4), "p_negative": p[0],
                         "p_neutral": p[1], "p_positive": p[2], "sentences": [], "themes": themes,
                         "theme_evidence": evidence})
        for col in OUTPUT_COLUMNS:
            out[col] = [r[col] for r in rows]
        return out


PG_ENV = "DARKFEEDBACK_TEST_POSTGRES_URL"


def reset_postgres(url: str) -> None:
    """Drop every table of the test database, so each test starts from an empty schema."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.requires_postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None (the embedded SQLite default under tmp_path) or the PostgreSQL test database."""
    if request.param == "sqlite":
        return None
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"set {PG_ENV}=postgresql://user:pass@localhost/db to run the PostgreSQL variant")
    reset_postgres(url)
    return url


def make_settings(tmp_path: Path, database_url: str | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": tmp_path / "data", "bootstrap_api_key": ADMIN_KEY,
                              "database_url": database_url}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def fake_analyzer() -> FakeTextAnalyzer:
    return FakeTextAnalyzer()


@pytest.fixture
def client(tmp_path: Path, fake_analyzer: FakeTextAnalyzer, database_url: str | None) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path, database_url), text_analyzer=fake_analyzer)
    with TestClient(app) as c:
        c.headers["X-API-Key"] = ADMIN_KEY
        yield c


def now_minus(days: float = 0, hours: float = 0) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days, hours=hours)).isoformat()


def churning_messages(customer_id: str, prefix: str = "m") -> list[dict[str, Any]]:
    """Three recent negative messages saying the customer wants to leave: raises an alert."""
    texts = ["Es la tercera vez que falla el pago, estoy harto",
             "Si no lo arreglan me doy de baja. Escribidme a juan.perez@example.com",
             "Quiero darme de baja ya, llamadme al 612 345 678"]
    return [{"message_id": f"{prefix}{i}", "customer_id": customer_id, "timestamp": now_minus(days=5 - 2 * i),
             "channel": "chat", "text": t} for i, t in enumerate(texts)]


def send_json(client: TestClient, method: str, path: str, body: Any, **kwargs: Any) -> Any:
    """A JSON request whose body may hold anything JSON can: NaN, lone surrogates (escaped), NUL characters.

    (``client.post(json=...)`` encodes UTF-8 first and cannot send a lone surrogate.)
    """
    data = json.dumps(body, ensure_ascii=True, allow_nan=True).encode("ascii")
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return client.request(method, path, content=data, headers=headers, **kwargs)


def key_with(client: TestClient, *scopes: str) -> str:
    r = client.post("/v1/keys", json={"name": "+".join(scopes), "scopes": list(scopes)})
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


# --------------------------------------------------------------------------- a real server

SERVER_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from api_support import FakeTextAnalyzer, make_settings
from analyzer.service import create_app, serve_app
app = create_app(make_settings(Path({tmp!r}), {url!r}), text_analyzer=FakeTextAnalyzer())
serve_app(app, "127.0.0.1", {port}, log_level={level!r})
"""


@dataclasses.dataclass
class LiveServer:
    """uvicorn in a subprocess, as ``darkfeedback serve`` runs it (the service's logging config), its
    stdout (access log) and stderr (everything else) in files."""

    base: str
    proc: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def log_text(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_server(tmp_path: Path, database_url: str | None = None, *, log_level: str = "info") -> LiveServer:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    script = tmp_path / "server.py"
    script.write_text(SERVER_SCRIPT.format(tests=str(Path(__file__).resolve().parent), tmp=str(tmp_path),
                                           url=database_url, port=port, level=log_level))
    out, err = tmp_path / "server.out.log", tmp_path / "server.err.log"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen([sys.executable, str(script)], stdout=fo, stderr=fe)
    server = LiveServer(f"http://127.0.0.1:{port}", proc, out, err)
    for _ in range(300):
        try:
            if httpx.get(f"{server.base}/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
        if proc.poll() is not None:
            break
    server.stop()
    raise RuntimeError("server did not start: " + server.log_text()[-3000:])
