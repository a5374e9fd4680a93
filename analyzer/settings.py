"""One typed settings object, overridable from the environment (``DARKFEEDBACK_*``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def _default_models_dir() -> Path:
    # A wheel ships the trained heads inside the package; a source checkout keeps them
    # in the top-level models/ folder next to their model card.
    bundled = _PACKAGE_DIR / "_artifacts"
    return bundled if bundled.is_dir() else _PACKAGE_DIR.parent / "models"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "darkfeedback"


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "darkfeedback"


class Settings(BaseSettings):
    """Runtime settings. Every field can be set as ``DARKFEEDBACK_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="DARKFEEDBACK_", extra="ignore")

    models_dir: Path = Field(default_factory=_default_models_dir,
                             description="Folder holding the trained heads (sentiment, themes).")
    cache_dir: Path = Field(default_factory=_default_cache_dir,
                            description="Folder where rebuilt encoders are cached.")
    encoder: str = Field(default="e5-small", description="Encoder name in the model registry, or a local folder.")
    datasets_dir: Path = Field(default_factory=lambda: _PACKAGE_DIR.parent.parent / "shared" / "datasets",
                               description="Folder with the public evaluation datasets.")
    backend: str = Field(default="onnx", pattern="^(onnx|torch)$",
                         description="Inference engine: 'onnx' (ONNX Runtime, int8, the fast default) or "
                                     "'torch' (PyTorch fp32, the reference the heads were trained with).")
    num_threads: int = Field(default=2, ge=1, description="CPU threads for the encoder.")
    batch_size: int = Field(default=64, ge=1, description="Texts per encoder forward pass.")
    # 1024: the activations of a pass then stay nearer the caches (the elementwise ops between
    # the int8 products are memory-bound): the forward passes were 8-10 % faster than at 2048 on
    # short and long tweets alike (512 no faster, 256 slower), the whole analyze 1-4 %, with less
    # memory. Larger passes also fragment the C heap (+340-560 MB over a 2,000-row chunk at 4096).
    max_batch_tokens: int = Field(default=1024, ge=64,
                                  description="Most tokens (rows x padded width) in one forward pass: short "
                                              "messages travel in large batches, long ones in small batches.")
    max_tokens: int = Field(default=256, ge=8, le=512, description="Tokens kept per text by the encoder.")
    chunk_rows: int = Field(default=2000, ge=1, description="Rows per streamed chunk in batch file analysis.")
    max_text_chars: int = Field(default=20_000, ge=1, description="Longer texts are rejected, not truncated.")
    lang_min_confidence: float = Field(default=0.5, ge=0.0, le=1.0,
                                       description="Below this language-ID confidence the language is 'und'.")
    lang_candidates: tuple[str, ...] = Field(default=
        ("es", "en", "pt", "it", "fr", "ca"),
        description="ISO 639-1 codes the language detector chooses among; codes other than es/en are "
                    "reported as 'other' (they are there so that Portuguese, Italian, ... are recognised).")
    taxonomy: Path | None = Field(default=None, description="Theme taxonomy YAML; the bundled default when unset.")
    theme_threshold_scale: float = Field(default=1.0, gt=0.0,
                                         description="Multiplies every theme's decision threshold.")

    # -- service (analyzer.service: REST API, alert feed, web page) ----------------------------
    data_dir: Path = Field(default_factory=_default_data_dir,
                           description="Folder of the service's embedded database and batch-job files.")
    database_url: str | None = Field(default=None,
                                     description="SQLAlchemy URL of the service database, e.g. "
                                                 "postgresql+psycopg://user:pass@host/db; unset: a SQLite file "
                                                 "data_dir/darkfeedback.db (nothing to install).")
    bootstrap_api_key: str | None = Field(default=None, repr=False,
                                          description="If set, this key is registered (hashed) with every scope "
                                                      "when the service starts: the first admin key.")
    cors_origins: tuple[str, ...] = Field(default=(),
                                          description="Origins allowed to call the API from a browser (CORS); "
                                                      "empty: same origin only.")
    max_body_bytes: int = Field(default=1_000_000, ge=1024,
                                description="Largest JSON request body the API accepts (413 above).")
    max_upload_bytes: int = Field(default=200_000_000, ge=1024,
                                  description="Largest file a batch job upload may have (413 above).")
    max_batch_items: int = Field(default=500, ge=1,
                                 description="Most texts, messages or events in one API request.")
    retention_days: int | None = Field(default=None, ge=1,
                                       description="Message texts older than this many days are purged (scores "
                                                   "kept); unset: kept until the customer is erased.")
    rules: Path | None = Field(default=None, description="The alert rule table (YAML like analyzer/foresight/"
                                                         "rules.yaml); the packaged one when unset.")
    foresight_model: Path | None = Field(default=None,
                                         description="A saved foresight model (JSON) to use as is; unset: the "
                                                     "service fits one on its own history and refits it on a "
                                                     "schedule.")
    sweep_interval_s: float = Field(default=3600.0, gt=0,
                                    description="Every customer is re-evaluated this often (silence, missed "
                                                "deadlines and lapses raise alerts without new data).")
    refit_interval_s: float = Field(default=86400.0, gt=0,
                                    description="The foresight model is refitted on the stored history this often.")
    worker_poll_s: float = Field(default=1.0, gt=0,
                                 description="How often the evaluation worker looks at its queue when not woken.")
    alert_clock: str = Field(default="now", pattern="^(now|data)$",
                             description="'now': customers judged at the current time; 'data': at the latest "
                                         "message or event stored (replaying an old export).")
    alert_lang: str = Field(default="es", pattern="^(es|en)$",
                            description="Default language of alert justifications in the API.")

    # -- imports and outbound deliveries (analyzer.importers, analyzer.service.outbound) --------
    pseudonym_secret: SecretStr | None = Field(default=None, repr=False,
                                               description="Key of the hashes that replace e-mail and phone customer "
                                                           "ids (imports and ingest); unset: a random key created once "
                                                           "in data_dir/pseudonym.key. Keep it: a new key gives every "
                                                           "such customer a new id.")
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="Time limit of one outbound delivery attempt.")
    webhook_max_attempts: int = Field(default=8, ge=1, le=50,
                                      description="Attempts of a delivery before it goes to the dead-letter list.")
    webhook_backoff_s: float = Field(default=5.0, gt=0,
                                     description="Wait before the second attempt; doubled after each failure.")
    webhook_backoff_max_s: float = Field(default=3600.0, gt=0, description="Longest wait between two attempts.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call ``get_settings.cache_clear()`` after changing env)."""
    return Settings()
