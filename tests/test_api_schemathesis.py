"""Property-based API test: Schemathesis generates requests from the OpenAPI schema; none may get a 5xx.

In process against the ASGI app (no server, no network), with the FakeTextAnalyzer test double, a
temporary SQLite database (and PostgreSQL when DARKFEEDBACK_TEST_POSTGRES_URL is set) and the admin
key, so every operation is reached past authentication. Bounded: 15 valid (positive) and 15 invalid
(negative) examples per operation, derandomized, about 25 s per database on 2 cores. Valid and
invalid inputs alike must get an answer the client can act on (2xx/4xx), never an internal error.
The multipart upload (POST /v1/jobs) is covered past its checks: the schema documents a file name
(``messages.csv``), so generated uploads are accepted (202) and run as jobs. It found DELETE
/v1/keys/{huge id} -> 500 (a driver overflow), now a 422 from the path's bounds. The hand-written
properties of test_service_properties.py go further (any string in any field, exact bounds).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from api_support import ADMIN_KEY, PG_ENV, FakeTextAnalyzer, make_settings, reset_postgres

from analyzer.service import create_app

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis (the dev extra has it)")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402  (after the import guard)

MAX_EXAMPLES = 15


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.requires_postgres)])
def api_schema(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    url = None
    if request.param == "postgresql":
        url = os.environ.get(PG_ENV)
        if not url:
            pytest.skip(f"set {PG_ENV}=postgresql://user:pass@localhost/db to run the PostgreSQL variant")
        reset_postgres(url)
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    app = create_app(make_settings(tmp, url), text_analyzer=FakeTextAnalyzer())
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # The live stream follows forever by design (it is tested in test_api_feed.py with follow=false).
    return schema.exclude(path="/v1/alerts/stream")


def test_no_server_errors(api_schema: Any) -> None:
    failures: dict[str, str] = {}
    statuses: dict[str, set[int]] = {}
    runs = [(result.ok(), mode) for result in api_schema.get_all_operations()
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)]
    for operation, mode in runs:

        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        def check(case: Any) -> None:
            # Revoking key 1 (the bootstrap admin key) would turn the rest of the run into 401s.
            if case.operation.path == "/v1/keys/{key_id}" and case.path_parameters.get("key_id") == 1:
                case.path_parameters["key_id"] = 2
            response = case.call_and_validate(headers={"X-API-Key": ADMIN_KEY}, checks=[not_a_server_error])
            statuses.setdefault(case.operation.label, set()).add(response.status_code)

        try:
            check()
        except Unsatisfiable:
            continue  # no invalid input exists for this operation (no parameters, or only free strings)
        except Exception as exc:  # one entry per operation, so a run reports every failing one
            failures[f"{operation.label} ({mode.value})"] = f"{type(exc).__name__}: {exc}"[:2000]
    assert not failures, "\n\n".join(f"{op}\n{err}" for op, err in failures.items())
    # The run reached every operation, and past authentication (a 401 everywhere would prove nothing).
    assert len(statuses) >= 20, statuses
    assert all(codes - {401, 403} for codes in statuses.values()), statuses
    assert 202 in statuses["POST /v1/jobs"], statuses["POST /v1/jobs"]  # uploads accepted, not only refused


def test_out_of_range_key_id_is_a_client_error(tmp_path: Path) -> None:
    """What Schemathesis found: an id beyond 64 bits reached the driver (OverflowError -> 500)."""
    from fastapi.testclient import TestClient

    app = create_app(make_settings(tmp_path), text_analyzer=FakeTextAnalyzer())
    with TestClient(app, headers={"X-API-Key": ADMIN_KEY}) as client:
        r = client.delete(f"/v1/keys/{2**80}")
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
        # Key ids are PostgreSQL integers: the largest one is a 404, one more a 422.
        assert client.delete(f"/v1/keys/{2**31 - 1}").status_code == 404
        assert client.delete(f"/v1/keys/{2**31}").status_code == 422
