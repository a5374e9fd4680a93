"""The rule table and the taxonomy as admins see and edit them on the Settings page.

The text in force is the newest version saved from the page (``config_versions``), else the file
named by the settings (``DARKFEEDBACK_RULES``, ``DARKFEEDBACK_TAXONOMY``), else the packaged one.
A new version is checked exactly as at start-up (:func:`analyzer.foresight.load_rules`,
:func:`analyzer.text.themes.load_taxonomy`; the rules' themes must exist in the taxonomy) and is
refused with the loader's message when it is wrong. Once saved:

- rules: the evaluator uses them from its next judgement (no restart);
- taxonomy: theme names are what the pages show and its ``complaint: true`` themes are what the
  risk counts as complaints from the next refit of the risk model. Descriptions, examples and
  keywords feed the text models, which load the file named by ``DARKFEEDBACK_TAXONOMY`` when the
  service starts (loading a second set of models to swap them live would double the memory): save
  the text as that file for them to follow.
"""

from __future__ import annotations

import dataclasses
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from analyzer.errors import ConfigError
from analyzer.foresight import RuleTable, load_rules
from analyzer.service.foresight import ForesightService
from analyzer.service.store import Store
from analyzer.settings import Settings
from analyzer.text.themes import Taxonomy, load_taxonomy

__all__ = ["MAX_CONFIG_CHARS", "apply_saved", "check_rules", "check_taxonomy", "current_text", "effective_taxonomy"]

MAX_CONFIG_CHARS = 200_000


def _packaged(kind: str) -> str:
    package, name = ("analyzer.foresight", "rules.yaml") if kind == "rules" else ("analyzer.resources",
                                                                                  "taxonomy.yaml")
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def current_text(store: Store, settings: Settings, kind: str) -> dict[str, Any]:
    """``{text, source, saved_by, saved_at, version}``: the text in force and where it comes from."""
    saved = store.latest_config(kind)
    if saved is not None:
        return {"text": saved["text"], "source": "saved", "saved_by": saved["created_by"],
                "saved_at": saved["created_at"], "version": saved["id"]}
    path = settings.rules if kind == "rules" else settings.taxonomy
    if path is not None:
        return {"text": Path(path).read_text(encoding="utf-8"), "source": "file", "saved_by": None, "saved_at": None,
                "version": None}
    return {"text": _packaged(kind), "source": "packaged", "saved_by": None, "saved_at": None, "version": None}


def _loaded(text: str, suffix: str, loader: Any, **kwargs: Any) -> Any:
    # The loaders read files (their messages name the file): the text goes through a temporary one.
    with tempfile.TemporaryDirectory(prefix="df-settings-") as folder:
        path = Path(folder) / suffix
        path.write_text(text, encoding="utf-8")
        try:
            return loader(path, **kwargs)
        except ConfigError:
            raise
        except (yaml.YAMLError, TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            # A value of the wrong shape (a list where a number belongs...) that the loader did not foresee:
            # from a file a start-up error, here the reason a save is refused.
            raise ConfigError(f"{suffix} has a value of the wrong type or shape ({type(exc).__name__}: {exc}); "
                              f"compare it with the packaged {suffix}.") from exc


def check_taxonomy(text: str) -> Taxonomy:
    """The taxonomy in ``text``, or :class:`~analyzer.errors.ConfigError` saying what is wrong."""
    taxonomy: Taxonomy = _loaded(text, "taxonomy.yaml", load_taxonomy)
    return taxonomy


def check_rules(text: str, theme_ids: list[str]) -> RuleTable:
    """The rule table in ``text`` with its themes checked against ``theme_ids``, or a ConfigError."""
    table: RuleTable = _loaded(text, "rules.yaml", load_rules, theme_ids=theme_ids)
    return table


def effective_taxonomy(store: Store, settings: Settings) -> Taxonomy:
    """The taxonomy in force (saved, from the settings' file, or packaged)."""
    saved = store.latest_config("taxonomy")
    if saved is not None:
        return check_taxonomy(saved["text"])
    return load_taxonomy(settings.taxonomy)


def apply_saved(store: Store, settings: Settings, engine: ForesightService) -> None:
    """Put the saved versions in force in the evaluator (at start-up, and after each save)."""
    taxonomy = effective_taxonomy(store, settings)
    engine.config = dataclasses.replace(engine.config, complaint_themes=taxonomy.complaint_ids)
    saved = store.latest_config("rules")
    if saved is not None:
        engine.rules = check_rules(saved["text"], taxonomy.ids)
