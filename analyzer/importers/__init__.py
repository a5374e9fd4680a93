"""Importers: the exports SMEs have, turned into the canonical messages, events and customers tables.

    from analyzer.importers import ImportOptions, run_import, write_import
    result = run_import("zendesk", ["tickets.json"], ImportOptions(pseudonymizer=...))
    write_import(result, "out/import")          # messages.csv, events.csv, customers.csv, rejected-zendesk.csv

Sources (:data:`SOURCES`), one module per family:

==================  ===========================  ===============================================
source              module                       reads
==================  ===========================  ===============================================
whatsapp            :mod:`.whatsapp`             chat .txt exports (Android, iOS; es/en)
zendesk, freshdesk, :mod:`.helpdesk`             tickets with comments (JSON) or ticket exports
intercom                                         (CSV/XLSX); CSAT
hubspot, salesforce,:mod:`.crm`                  contacts, companies, tickets/cases, notes
dynamics                                         (CSV/XLSX)
google-reviews,     :mod:`.reviews`              Business Profile reviews JSON; Trustpilot CSV/JSON;
trustpilot, nps                                  NPS survey exports
shopify, ga4        :mod:`.commerce`             orders CSV; GA4 BigQuery export (JSON/CSV)
profile             :mod:`.profile`              anything else, through a YAML column mapping
==================  ===========================  ===============================================

Shared: :mod:`.common` (encodings, separators, XLSX, JSON, decimal commas, HTML), :mod:`.base`
(the draft rows and the one finishing step that rejects bad rows with a reason), :mod:`.pseudonym`
(e-mail and phone ids hashed with the installation's secret), :mod:`.output` (merged, idempotent
tables in one folder).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from analyzer.errors import ConfigError
from analyzer.importers.base import Draft, ImportOptions, ImportResult, finish
from analyzer.importers.commerce import import_ga4, import_shopify
from analyzer.importers.crm import import_dynamics, import_hubspot, import_salesforce
from analyzer.importers.helpdesk import import_freshdesk, import_intercom, import_zendesk
from analyzer.importers.output import OUTPUT_FORMATS, write_import
from analyzer.importers.profile import import_profile, load_profile
from analyzer.importers.pseudonym import Pseudonymizer, load_pseudonym_secret
from analyzer.importers.reviews import import_google_reviews, import_nps, import_trustpilot
from analyzer.importers.whatsapp import import_whatsapp

__all__ = ["OUTPUT_FORMATS", "SOURCES", "ImportOptions", "ImportResult", "Pseudonymizer", "load_profile",
           "load_pseudonym_secret", "pseudonymizer_for", "run_import", "write_import"]

Importer = Callable[[list[Path], ImportOptions], Draft]

SOURCES: dict[str, Importer] = {
    "whatsapp": import_whatsapp,
    "zendesk": import_zendesk,
    "freshdesk": import_freshdesk,
    "intercom": import_intercom,
    "hubspot": import_hubspot,
    "salesforce": import_salesforce,
    "dynamics": import_dynamics,
    "google-reviews": import_google_reviews,
    "trustpilot": import_trustpilot,
    "nps": import_nps,
    "shopify": import_shopify,
    "ga4": import_ga4,
    "profile": import_profile,
}
"""Every source name ``darkfeedback import --source`` accepts, with its importer."""


def run_import(source: str, paths: Sequence[str | os.PathLike[str]], options: ImportOptions | None = None
               ) -> ImportResult:
    """Read ``paths`` as exports of ``source`` into the canonical tables (nothing is written).

    Raises :class:`~analyzer.errors.ConfigError` for an unknown source and
    :class:`~analyzer.errors.InputFormatError` for a file that cannot be read at all; bad rows are
    in the result's ``rejected`` table with their reason.
    """
    importer = SOURCES.get(source)
    if importer is None:
        raise ConfigError(f"unknown source {source!r}; use one of {', '.join(SOURCES)} (or 'profile' with a YAML "
                          "column mapping for anything else).")
    if not paths:
        raise ConfigError(f"no input files for source {source!r}; pass at least one export file.")
    opts = options or ImportOptions()
    return finish(importer([Path(p) for p in paths], opts), opts)


def pseudonymizer_for(settings: object) -> Pseudonymizer:
    """The installation's pseudonymizer: ``settings.pseudonym_secret``, else the key in ``settings.data_dir``."""
    secret = getattr(settings, "pseudonym_secret", None)
    if secret is not None and hasattr(secret, "get_secret_value"):
        secret = secret.get_secret_value()
    return Pseudonymizer(load_pseudonym_secret(secret, Path(getattr(settings, "data_dir"))))  # noqa: B009
