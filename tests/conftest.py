"""Shared fixtures: one encoder and one analyzer per test session (they are slow to load)."""

from __future__ import annotations

import pytest

from analyzer.settings import get_settings


@pytest.fixture(scope="session")
def settings():
    return get_settings()


@pytest.fixture(scope="session")
def encoder(settings):
    from analyzer.inference.registry import load_encoder

    return load_encoder("e5-small", settings)


@pytest.fixture(scope="session")
def text_analyzer(settings):
    from analyzer.text.pipeline import load_analyzer

    return load_analyzer(settings)


@pytest.fixture(scope="session")
def datasets_dir(settings):
    if not settings.datasets_dir.is_dir():
        pytest.fail(f"public datasets not found at {settings.datasets_dir}; set DARKFEEDBACK_DATASETS_DIR")
    return settings.datasets_dir
