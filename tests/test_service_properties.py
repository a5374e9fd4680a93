"""Property-based tests of the API's input handling (hypothesis): no input is a 5xx.

Issue 14 found 500s from strings PostgreSQL cannot store, timestamps that overflow on their way
to UTC and integers past SQLite's 64 bits. These properties make that class of bug fail here:

- any string (control characters, NUL, lone surrogates, padding, 10,000 characters) in any field
  (ids, texts, channel, segment, key name, notes, agent, form fields, file name), any path
  parameter (percent-encoded bytes, even invalid UTF-8) and any query parameter: never a 5xx;
- any timestamp (years 1-9999, any offset) is stored or refused by the documented range with a
  422, and any integer bound (offsets, limits, feed ids, Last-Event-ID, key ids) is honoured or a
  422 -- exactly, never a 500.

Runs on SQLite and, with DARKFEEDBACK_TEST_POSTGRES_URL set, on PostgreSQL. Examples per
property: DARKFEEDBACK_TEST_PROPERTY_EXAMPLES (default 25; CI or a local soak can raise it).
The counts (cases, 5xx) are printed at the end of the module.
"""


from __future__ import annotations

import collections
import datetime as dt
import io
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import (
    ADMIN_KEY,
    PG_ENV,
    FakeTextAnalyzer,
    churning_messages,
    make_settings,
    now_minus,
    reset_postgres,
    send_json,
)
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.service import create_app
from analyzer.service.schemas import MAX_TIMESTAMP, MIN_TIMESTAMP

EXAMPLES = int(os.environ.get("DARKFEEDBACK_TEST_PROPERTY_EXAMPLES", "25"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])
COUNTS: collections.Counter[str] = collections.Counter()
DATABASE = ["sqlite"]  # the database of the app the current test runs against (for the counts)

# --------------------------------------------------------------------------- strategies

EVERY_CHAR = st.characters(codec=None, exclude_categories=())  # control chars, NUL, lone surrogates too
NASTY = st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "\udfff x", " C1", "C1 ", "\tC1", "C1\n", "\u2028",
                         "\u00a0C1", "\x85", "'; DROP TABLE customers; --", "%00", "../../etc/passwd", "x" * 201,
                         "é" * 200, "9" * 40, "-1", "NaN", "Infinity", "1e309", "null", "{}", "[]", "0001-01-01",
                         "9999-12-31T23:59:59-05:00", "\U0001f600" * 60, "x" * 10_000])
ANY_STRING = st.one_of(NASTY, st.text(EVERY_CHAR, max_size=60), st.text(EVERY_CHAR, min_size=190, max_size=260))
URL_STRING = st.one_of(ANY_STRING, st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(-2**80, 2**80) | ANY_STRING,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_STRING, inner, max_size=3), max_leaves=6)
# Odd but valid strings (any script, emoji, inner whitespace): what gets past validation to the database.
PLAUSIBLE = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1,
                    max_size=50).filter(lambda t: t.strip() == t and t != "")
FIELD_VALUE = st.one_of(ANY_STRING, PLAUSIBLE, PLAUSIBLE, ANY_JSON)


def _quote(value: str) -> str:
    """Percent-encode anything, lone surrogates included (as the bytes a broken client would send)."""
    return urllib.parse.quote(value.encode("utf-8", "surrogatepass"), safe="")


def _query(params: dict[str, str]) -> str:
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in params.items())


def _record(name: str, status: int) -> None:
    COUNTS[f"{DATABASE[0]} {name}: cases"] += 1
    if status >= 500:
        COUNTS[f"{DATABASE[0]} {name}: 5xx"] += 1
    assert status < 500, f"{name}: {status}"


# --------------------------------------------------------------------------- one app per database


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.requires_postgres)])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    url = None
    if request.param == "postgresql":
        url = os.environ.get(PG_ENV)
        if not url:
            pytest.skip(f"set {PG_ENV}=postgresql://user:pass@localhost/db to run the PostgreSQL variant")
        reset_postgres(url)
    DATABASE[0] = request.param
    tmp: Path = tmp_path_factory.mktemp(f"properties-{request.param}")
    app = create_app(make_settings(tmp, url), text_analyzer=FakeTextAnalyzer())
    with TestClient(app, headers={"X-API-Key": ADMIN_KEY}) as client:
        client.put("/v1/customers/PROP", json={"value_tier": "vip"})
        r = client.post("/v1/messages?wait=true", json={"messages": churning_messages("PROP", prefix="prop-")})
        alert_id = r.json()["new_alerts"][0]
        yield client, alert_id


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not COUNTS:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for key in sorted({k.rsplit(":", 1)[0] for k in COUNTS}):
            reporter.write_line(f"  {key}: {COUNTS[key + ': cases']} cases, {COUNTS[key + ': 5xx']} 5xx")


MESSAGE = {"message_id": "pm", "customer_id": "PC", "timestamp": "2026-11-30T10:00:00Z", "channel": "chat",
           "text": "hola, el pedido llega con retraso"}
EVENT = {"event_id": "pe", "customer_id": "PC", "timestamp": "2026-11-30T10:00:00Z", "type": "purchase",
         "value": 10.0, "channel": "web"}


def _mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` with one to all of its fields replaced by anything (fields left valid let the rest reach the DB)."""
    return st.dictionaries(st.sampled_from(sorted(base)), FIELD_VALUE, min_size=1, max_size=2).map(
        lambda d: {**base, **d})


# --------------------------------------------------------------------------- any string, anywhere


@SETTINGS
@given(items=st.lists(_mutated(MESSAGE), min_size=1, max_size=3), n=st.integers(0, 10**6))
def test_any_message_is_never_a_5xx(api: tuple[TestClient, str], items: list[dict[str, Any]], n: int) -> None:
    client, _ = api
    for i, item in enumerate(items):
        if item["message_id"] == "pm":
            item["message_id"] = f"pm-{n}-{i}"
    r = send_json(client, "POST", "/v1/messages", {"messages": items})
    _record("messages body", r.status_code)
    if r.status_code in (200, 201):  # what was stored reads back
        cid = items[0]["customer_id"]
        _record("messages read-back", client.get(f"/v1/customers/{_quote(cid)}").status_code)


@SETTINGS
@given(items=st.lists(_mutated(EVENT), min_size=1, max_size=3))
def test_any_event_is_never_a_5xx(api: tuple[TestClient, str], items: list[dict[str, Any]]) -> None:
    client, _ = api
    _record("events body", send_json(client, "POST", "/v1/events", {"events": items}).status_code)


@SETTINGS
@given(texts=st.lists(ANY_STRING, min_size=1, max_size=3))
def test_any_text_to_analyze_is_never_a_5xx(api: tuple[TestClient, str], texts: list[str]) -> None:
    client, _ = api
    _record("analyze body", send_json(client, "POST", "/v1/analyze", {"texts": texts}).status_code)


@SETTINGS
@given(name=FIELD_VALUE, scopes=st.one_of(st.lists(st.sampled_from(["read", "ingest", "admin"]), min_size=1),
                                          FIELD_VALUE))
def test_any_key_name_is_never_a_5xx(api: tuple[TestClient, str], name: Any, scopes: Any) -> None:
    client, _ = api
    _record("keys body", send_json(client, "POST", "/v1/keys", {"name": name, "scopes": scopes}).status_code)


@SETTINGS
@given(customer_id=URL_STRING, segment=FIELD_VALUE, tier=FIELD_VALUE, opt=FIELD_VALUE)
def test_any_customer_path_and_body_is_never_a_5xx(api: tuple[TestClient, str], customer_id: str, segment: Any,
                                                   tier: Any, opt: Any) -> None:
    client, _ = api
    path = f"/v1/customers/{_quote(customer_id)}"
    _record("customer PUT", send_json(client, "PUT", path, {"segment": segment, "value_tier": tier}).status_code)
    _record("customer PUT valid id", send_json(client, "PUT", "/v1/customers/PC",
                                               {"segment": segment}).status_code)
    _record("customer GET", client.get(path).status_code)
    _record("customer export", client.get(path + "/export").status_code)
    _record("customer opt-out", send_json(client, "PUT", path + "/opt-out", {"opt_out": opt}).status_code)
    _record("customer DELETE", client.delete(path).status_code)


@SETTINGS
@given(alert_id=URL_STRING, job_id=URL_STRING, note=FIELD_VALUE, agent=FIELD_VALUE, outcome=FIELD_VALUE)
def test_any_alert_and_job_path_and_action_body_is_never_a_5xx(api: tuple[TestClient, str], alert_id: str,
                                                               job_id: str, note: Any, agent: Any,
                                                               outcome: Any) -> None:
    client, real_alert = api
    _record("alert GET", client.get(f"/v1/alerts/{_quote(alert_id)}").status_code)
    body = {"note": note, "agent": agent, "outcome": outcome, "useful": True}
    _record("alert action", send_json(client, "POST", f"/v1/alerts/{_quote(alert_id)}/dismiss", body).status_code)
    # On a real alert (dismissing again is allowed), so that note and agent reach the database.
    _record("alert action real", send_json(client, "POST", f"/v1/alerts/{real_alert}/dismiss",
                                           {"note": note, "agent": agent}).status_code)
    for suffix in ("", "/results", "/rejected"):
        _record("job GET", client.get(f"/v1/jobs/{_quote(job_id)}{suffix}").status_code)
    _record("job DELETE", client.delete(f"/v1/jobs/{_quote(job_id)}").status_code)


QUERY_KEYS = st.sampled_from(["customer_id", "action", "since", "status", "severity", "lang", "limit", "offset",
                              "subject", "after", "heartbeat", "follow", "api_key"])


@SETTINGS
@given(params=st.dictionaries(QUERY_KEYS, URL_STRING, max_size=5), last_event_id=st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=30))
def test_any_query_string_is_never_a_5xx(api: tuple[TestClient, str], params: dict[str, str],
                                         last_event_id: str) -> None:
    client, _ = api
    query = _query(params)
    _record("alerts query", client.get(f"/v1/alerts?{query}").status_code)
    _record("audit query", client.get(f"/v1/audit?{query}").status_code)
    _record("customer query", client.get(f"/v1/customers/PROP?{query}").status_code)
    stream = _query({**params, "follow": "false"})
    _record("stream query", client.get(f"/v1/alerts/stream?{stream}",
                                       headers={"Last-Event-ID": last_event_id.encode("latin-1")}).status_code)


@SETTINGS
@given(filename=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
       suffix=st.sampled_from([".csv", ".jsonl", ".tsv", ".parquet", ".csv.gz", ""]),
       form=st.dictionaries(st.sampled_from(["text_col", "customer_col", "timestamp_col", "channel_col", "id_col",
                                             "output_format", "encoding"]),
                            st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30),
                            max_size=3),
       content=st.one_of(st.binary(max_size=200), st.just(b"text,customer\nhola \\ud800,C\n")))
def test_any_upload_is_never_a_5xx(api: tuple[TestClient, str], filename: str, suffix: str, form: dict[str, str],
                                   content: bytes) -> None:
    client, _ = api
    r = client.post("/v1/jobs", files={"file": (filename + suffix, io.BytesIO(content), "text/plain")}, data=form)
    _record("job upload", r.status_code)


# --------------------------------------------------------------------------- timestamps and integer bounds

OFFSETS = st.one_of(st.none(), st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(
    lambda m: dt.timezone(dt.timedelta(minutes=m))))


def _in_range(stamp: dt.datetime) -> bool:
    aware = stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=dt.UTC)
    try:
        utc = aware.astimezone(dt.UTC)
    except OverflowError:
        return False
    return MIN_TIMESTAMP <= utc <= MAX_TIMESTAMP


# The edges: where a zone's offset pushes a time past year 1 or 9999, or out of the supported range.
EDGES = st.sampled_from([dt.datetime(1, 1, 1), dt.datetime(1, 1, 1, 23, 59), dt.datetime(1899, 12, 31, 23, 30),
                         dt.datetime(1900, 1, 1), dt.datetime(1900, 1, 1, 0, 30), dt.datetime(2200, 12, 31, 23, 30),
                         dt.datetime(2200, 12, 31, 23, 59, 59, 999999), dt.datetime(2201, 1, 1, 0, 30),
                         dt.datetime(9999, 12, 31), dt.datetime(9999, 12, 31, 23, 59, 59)])
STAMPS = st.one_of(
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59), timezones=OFFSETS),
    st.builds(lambda d, tz: d.replace(tzinfo=tz), EDGES, OFFSETS))


@SETTINGS
@given(stamp=STAMPS, n=st.integers(0, 10**9))
def test_timestamps_are_stored_or_422_by_the_documented_range(api: tuple[TestClient, str], stamp: dt.datetime,
                                                              n: int) -> None:
    client, _ = api
    text = stamp.isoformat()
    expected = (200, 201) if _in_range(stamp) else (422,)
    msg = {**MESSAGE, "message_id": f"ts-{n}", "customer_id": "TS", "timestamp": text}
    r = send_json(client, "POST", "/v1/messages", {"messages": [msg]})
    _record("timestamp message", r.status_code)
    assert r.status_code in expected, (text, r.status_code, r.text[:300])
    ev = {**EVENT, "event_id": f"ts-{n}", "customer_id": "TS", "timestamp": text}
    r = send_json(client, "POST", "/v1/events", {"events": [ev]})
    _record("timestamp event", r.status_code)
    assert r.status_code in expected, (text, r.status_code)
    r = client.get(f"/v1/alerts?{_query({'since': text})}")
    _record("timestamp since", r.status_code)
    assert r.status_code == (200 if _in_range(stamp) else 422), (text, r.status_code)


@SETTINGS
@given(raw=st.one_of(ANY_JSON, st.integers(-2**70, 2**70), st.floats(), ANY_STRING))
def test_any_timestamp_value_is_never_a_5xx(api: tuple[TestClient, str], raw: Any) -> None:
    client, _ = api
    msg = {**MESSAGE, "message_id": "tsv", "customer_id": "TSV", "timestamp": raw}
    _record("timestamp any value", send_json(client, "POST", "/v1/messages", {"messages": [msg]}).status_code)


INTS = st.one_of(st.integers(-2**70, 2**70), st.integers(-3, 3), st.sampled_from(
    [2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 500, 501, 1000, 1001]))
LIMITS = st.one_of(st.integers(1, 500), INTS)  # mostly valid, so that the offset is what decides


@SETTINGS
@given(offset=INTS, limit=LIMITS, after=INTS, last=INTS, key_id=INTS)
def test_integer_bounds_are_honoured_or_422(api: tuple[TestClient, str], offset: int, limit: int, after: int,
                                            last: int, key_id: int) -> None:
    client, _ = api
    ok_offset = 0 <= offset <= 2**63 - 1
    r = client.get("/v1/alerts", params={"offset": str(offset), "limit": str(limit)})
    _record("int alerts", r.status_code)
    assert r.status_code == (200 if ok_offset and 1 <= limit <= 500 else 422), (offset, limit, r.status_code)
    r = client.get("/v1/audit", params={"offset": str(offset), "limit": str(limit)})
    _record("int audit", r.status_code)
    assert r.status_code == (200 if ok_offset and 1 <= limit <= 1000 else 422), (offset, limit, r.status_code)
    r = client.get("/v1/alerts/stream", params={"after": str(after), "follow": "false"})
    _record("int stream after", r.status_code)
    assert r.status_code == (200 if 0 <= after <= 2**31 - 1 else 422), (after, r.status_code)
    r = client.get("/v1/alerts/stream", params={"follow": "false"}, headers={"Last-Event-ID": str(last)})
    _record("int Last-Event-ID", r.status_code)
    # A negative id is not a feed id: ignored, as a non-numeric one is.
    assert r.status_code == (422 if last > 2**31 - 1 else 200), (last, r.status_code)
    if key_id != 1:  # key 1 is the admin key the test runs with
        r = client.delete(f"/v1/keys/{key_id}")
        _record("int key id", r.status_code)
        assert r.status_code in ((404, 204) if 2 <= key_id <= 2**31 - 1 else (422,)), (key_id, r.status_code)


def test_the_properties_reach_past_validation(api: tuple[TestClient, str]) -> None:
    """The strategies are not all rejected at the door: valid-but-odd values get stored."""
    client, _ = api
    cid = "C \u00a0é"
    odd = {**MESSAGE, "message_id": "odd-\u00e9-\U0001f600", "customer_id": cid, "channel": "chat ✓",
           "text": "línea 1\nlínea 2\t\u2028 fin", "timestamp": now_minus(1)}
    r = send_json(client, "POST", "/v1/messages", {"messages": [odd]})
    assert r.status_code == 201, r.text
    timeline = client.get(f"/v1/customers/{_quote(cid)}").json()["timeline"]
    assert timeline[0]["text_redacted"].startswith("línea 1\nlínea 2")
    r = send_json(client, "POST", "/v1/events", {"events": [{**EVENT, "event_id": "odd-ev", "value": "T-1 é"}]})
    assert r.status_code == 201, r.text
