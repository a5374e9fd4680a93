"""What the service lets into the server log: never request bodies, SQL parameters or customer ids.

- Access lines (uvicorn's ``uvicorn.access`` logger) show the route template instead of the
  path (``/v1/customers/{customer_id}``, not ``/v1/customers/C-1042``) and no query string (a
  key or an id put in a URL stays out of the log): :class:`RouteTemplateFilter`.
- A logged exception keeps its type and stack frames but loses its message, which can quote
  data (a database error's message holds the statement and, without ``hide_parameters``, the
  values): :class:`ExceptionTypeFilter`. The engines also run with ``hide_parameters=True``
  (:mod:`analyzer.service.db`), and unhandled errors are logged by type only
  (:mod:`analyzer.service.errors`).

:func:`install_log_filters` puts both filters on the uvicorn loggers; ``create_app`` calls it, so
any server that logs through those loggers gets them. :func:`logging_config` is the dictConfig
``serve`` passes to uvicorn.
"""

from __future__ import annotations

import copy
import logging
import traceback
import urllib.parse
from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute

__all__ = ["ExceptionTypeFilter", "RouteTemplateFilter", "install_log_filters", "logging_config", "route_template"]

UNMATCHED = "<unmatched path>"
_ACCESS_LOGGERS = ("uvicorn.access",)
# Logger filters see only the records of their own logger (not those of child loggers).
_ERROR_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi", "analyzer.service", "analyzer.service.jobs")


def route_template(routes: Iterable[BaseRoute], method: str, path: str) -> str:
    """The template of the route ``path`` matches (``/v1/customers/{customer_id}``), or a placeholder.

    ``routes`` are leaf routes (with ``path`` and ``path_regex``), e.g. an ``APIRouter``'s.
    """
    partial = None
    for route in routes:
        regex, template = getattr(route, "path_regex", None), getattr(route, "path", None)
        if regex is None or template is None or not regex.match(path):
            continue
        methods = getattr(route, "methods", None)
        if not methods or method in methods:
            return str(template)
        partial = partial or str(template)  # the path exists, the method does not (a 405)
    return partial or UNMATCHED


class RouteTemplateFilter(logging.Filter):
    """Rewrites uvicorn access records: the path becomes its route template, the query string goes."""

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        super().__init__()
        self.routes = list(routes)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            client, method, full_path, version, status = args
            path = urllib.parse.unquote(str(full_path).split("?", 1)[0])
            record.args = (client, method, route_template(self.routes, str(method), path), version, status)
        return True


class ExceptionTypeFilter(logging.Filter):
    """A record's exception is logged as its type and stack frames, without the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, tb = record.exc_info
            frames = "".join(traceback.format_tb(tb))
            chain: list[str] = []
            cause = exc.__cause__ or exc.__context__ if exc is not None else None
            while cause is not None and len(chain) < 5:
                chain.append(type(cause).__name__)
                cause = cause.__cause__ or cause.__context__
            caused = f" (from {' <- '.join(chain)})" if chain else ""
            record.exc_info = None
            record.exc_text = f"Traceback (most recent call last):\n{frames}{exc_type.__name__}{caused} " \
                              "(message withheld: it may quote customer data)"
        return True


def install_log_filters(routes: Iterable[BaseRoute]) -> None:
    """Put the filters on the uvicorn loggers and ours, once per process (idempotent)."""
    routes = list(routes)
    for name in _ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        existing = [f for f in logger.filters if isinstance(f, RouteTemplateFilter)]
        if existing:
            known = {id(r) for r in existing[0].routes}
            existing[0].routes += [r for r in routes if id(r) not in known]
        else:
            logger.addFilter(RouteTemplateFilter(routes))
    for name in _ERROR_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ExceptionTypeFilter) for f in logger.filters):
            logger.addFilter(ExceptionTypeFilter())


def logging_config(routes: Iterable[BaseRoute], level: str = "info") -> dict[str, Any]:
    """uvicorn's default logging config with the service's filters, and the ``analyzer`` loggers on stderr."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"route_template": {"()": RouteTemplateFilter, "routes": list(routes)},
                         "exception_type": {"()": ExceptionTypeFilter}}
    # On the handler: it sees every record it writes, whichever (child) logger made it.
    config["handlers"]["default"]["filters"] = ["exception_type"]
    config["loggers"]["uvicorn.access"]["filters"] = ["route_template"]
    config["loggers"]["analyzer"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config
