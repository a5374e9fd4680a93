"""How errors reach the client: one JSON body ``{"error": {"status", "code", "message", "details"}}``.

The error classes themselves live in :mod:`analyzer.errors`; this module renders HTTP errors
and installs the handlers. Neither the offending input nor an exception's message is echoed or
logged: both can quote a customer's text.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from analyzer.service.schemas import ID_PATTERN, TEXT_PATTERN

__all__ = ["CODES", "error_body", "install_error_handlers", "internal_error", "log_unhandled"]

log = logging.getLogger("analyzer.service")

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 410: "gone", 413: "body_too_large", 415: "unsupported_media_type", 422: "invalid_request",
         429: "too_many_requests", 503: "not_ready"}


def error_body(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


# What the patterns of the schemas mean, in words (pydantic's message only quotes the regex).
_PATTERN_WORDS = {
    ID_PATTERN: "must be one line without control characters (U+0000-U+001F, U+007F-U+009F, line separators) "
                "and without leading or trailing whitespace",
    TEXT_PATTERN: "must not contain NUL characters (U+0000)",
}


def _message(error: Any) -> Any:
    pattern = (error.get("ctx") or {}).get("pattern")
    if error.get("type") == "string_pattern_mismatch" and pattern in _PATTERN_WORDS:
        return f"String {_PATTERN_WORDS[pattern]}"
    return error.get("msg")


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    # The offending input is not echoed back: it may be a customer's raw text.
    details = [{"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type"), "msg": _message(e)}
               for e in errors]
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse(error_body(400, "malformed_json", "The body is not valid JSON.", details), 400)
    fields = ", ".join(".".join(d["loc"][1:]) or d["loc"][0] for d in details[:5] if d["loc"])
    return JSONResponse(error_body(422, "invalid_request", f"The request does not match the schema ({fields}); "
                                   "see details and the OpenAPI docs at /docs.", details), 422)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(error_body(exc.status_code, CODES.get(exc.status_code, "error"), str(exc.detail)),
                        exc.status_code, headers=getattr(exc, "headers", None))


def log_unhandled(exc: BaseException, method: str, route: str) -> None:
    """Log an unexpected error by type, route template and stack only: its message can quote customer data."""
    log.error("unhandled %s on %s %s\n%s", type(exc).__name__, method, route,
              "".join(traceback.format_tb(exc.__traceback__)))


def internal_error() -> JSONResponse:
    return JSONResponse(error_body(500, "internal_error", "Internal error; it has been logged."), 500)


def install_error_handlers(app: FastAPI) -> None:
    """Validation errors (400/422) and HTTP errors; unexpected ones are answered by
    :class:`analyzer.service.middleware.InternalErrorMiddleware`, which keeps them from the server's own log."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
