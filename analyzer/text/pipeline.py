"""The text pipeline: language, PII redaction, sentiment (message and sentence), themes.

``TextAnalyzer.analyze_frame`` is a pure batch stage (a DataFrame of messages in, a
DataFrame of results out, same rows, same order), so the same code runs in the CLI, an API
worker or a distributed engine.  Raw text is redacted first; every later stage, and every
output column, sees only the redacted text.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analyzer.errors import ConfigError
from analyzer.inference.backends import Backend, TokenBatch, load_backend, mean_pool_np, token_batches
from analyzer.schema import ANALYSED_COLUMNS, MESSAGE_INPUT_COLUMNS
from analyzer.settings import Settings, get_settings
from analyzer.text.intent import CHURN_INTENT, ChurnIntentDetector, IntentMatch
from analyzer.text.results import (
    MessageAnalysis,
    SentenceSentiment,
    ThemeMatch,
    calibrated_probabilities,
    sentiment_results,
)
from analyzer.text.theme_heads import LanguageHead, ThemeRules, agree_with_sentiment, load_language_heads
from analyzer.text.themes import Taxonomy, ThemeClassifier, best_span, load_taxonomy
from analyzer.text.tokens import truncate
from analyzer.text.tokens import windows as cut_windows

__all__ = ["OUTPUT_COLUMNS", "TextAnalyzer", "load_analyzer"]

#: The columns ``analyze_frame`` adds: an analysed message (:data:`analyzer.schema.ANALYSED_COLUMNS`)
#: minus the input columns it carries through; the keys of :meth:`MessageAnalysis.to_record`.
OUTPUT_COLUMNS: tuple[str, ...] = tuple(
    c for c in ANALYSED_COLUMNS if c not in (*MESSAGE_INPUT_COLUMNS, "source_row")
)
# A cheap test for "more than one sentence": punctuation followed by more text.
_MULTI_SENTENCE = re.compile(r"[.!?…]+[\"')\]]*\s+\S|\n\s*\S")


@dataclass
class _Pass:
    """What one pass over some texts keeps: per text its sentiment, theme embedding and norm; per
    window its token offsets, owner text and tokens' projections on the theme weights."""

    probs: np.ndarray
    emb: np.ndarray
    norms: np.ndarray
    offsets: list[list[tuple[int, int]]]
    owner: np.ndarray
    total_weight: np.ndarray
    win_proj: list[np.ndarray]


class TextAnalyzer:
    """Holds the loaded models; analyse lists of texts or DataFrames with the same results.

    ``backend`` runs the encoder and the sentiment model (ONNX Runtime int8 by default, or
    PyTorch fp32: :mod:`analyzer.inference.backends`); everything above it is shared.
    """

    def __init__(self, backend: Backend, themes: ThemeClassifier,
                 *, settings: Settings, heads: dict[str, LanguageHead] | None = None,
                 intent: ChurnIntentDetector | None = None, sentence_level: bool = True,
                 use_ner: bool = True) -> None:
        self.backend = backend
        self.themes = themes
        # Language heads (themes_<lang>.npz): the themes of messages in their language; the
        # default model scores the others. The churn detector decides the churn_intent theme.
        self.heads = dict(heads or {}) if themes.multi_label else {}
        self.intent = intent or ChurnIntentDetector()
        meta_rules = getattr(themes, "meta", {}).get("rules")
        self.default_rules = ThemeRules(**meta_rules) if meta_rules else ThemeRules()
        # Every stage reads its options from here (batch sizes, token limits, theme thresholds,
        # language candidates and threshold), never from the process settings.
        self.settings = settings
        self.sentence_level = sentence_level
        self.use_ner = use_ner
        # Texts are cut into windows of the length the sentiment model was trained on (a long
        # review becomes several windows whose results are averaged): analyzer.text.tokens cuts them
        # from the backend's one untruncated encoding.
        self.window_tokens = backend.window_tokens

    @property
    def taxonomy(self) -> Taxonomy:
        return self.themes.taxonomy

    # -- public API ------------------------------------------------------
    def analyze(self, texts: Sequence[str]) -> list[MessageAnalysis]:
        """Analyse a list of texts."""
        if isinstance(texts, str):
            raise ConfigError("analyze() takes a list of texts; got one string. Wrap it: analyze([text]).")
        return self._analyze([str(t) if t is not None else "" for t in texts])

    def analyze_frame(self, frame: pd.DataFrame, text_column: str = "text") -> pd.DataFrame:
        """Analyse a DataFrame: returns its columns (except the raw text) plus :data:`OUTPUT_COLUMNS`.

        Same rows, same order, same index. Each row's results come from
        :meth:`MessageAnalysis.to_record`: ``pii_types`` and ``themes`` cells are lists of strings,
        ``sentences`` and ``theme_evidence`` cells lists of dicts (never JSON text).
        """
        if text_column not in frame.columns:
            raise ConfigError(f"analyze_frame needs a {text_column!r} column; got columns {list(frame.columns)}.")
        results = self._analyze(frame[text_column].astype(str).tolist())
        table = pd.DataFrame.from_records([r.to_record() for r in results], columns=list(OUTPUT_COLUMNS))
        out = frame.drop(columns=[text_column]).copy()
        for col in OUTPUT_COLUMNS:
            out[col] = table[col].to_numpy()
        return out

    def encode(self, texts: Sequence[str], *, normalize: bool = True) -> np.ndarray:
        """Sentence embeddings of the base encoder, ``[n, dim]``: what the theme models score.

        Mean pooling over tokens (truncated at ``Settings.max_tokens``), L2-normalised.
        """
        out = np.zeros((len(texts), self.backend.dim), dtype=np.float32)
        ids = self._token_ids(texts)
        for batch in self._batches(ids):
            hidden = self.backend.forward(batch, sentiment=False).hidden
            assert hidden is not None
            pooled = mean_pool_np(hidden, batch.mask)
            if normalize:
                pooled /= np.linalg.norm(pooled, axis=1, keepdims=True).clip(min=1e-12)
            out[batch.index] = pooled
        return out

    def sentiment_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated sentiment probabilities ``[n, 3]`` (negative, neutral, positive), one window per text."""
        out = np.zeros((len(texts), len(self.backend.labels)), dtype=np.float32)
        ids = self._token_ids(texts)
        for batch in self._batches(ids):
            out[batch.index] = self._calibrated(self.backend.forward(batch, base=False).logits)
        return out

    def embed_messages(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Sentiment probabilities ``[n, 3]`` and theme embeddings ``[n, dim]``, exactly as :meth:`analyze`
        computes them (windows of the sentiment model's length, token-weighted). The texts are used
        as given: redact them first (:func:`analyzer.text.pii.redact_batch`) to match :meth:`analyze`."""
        fp = self._forward(list(texts), np.zeros((self.backend.dim, 0), np.float32))
        return fp.probs, fp.emb

    def head_for(self, lang: str) -> LanguageHead | None:
        """The language head that scores the themes of messages in ``lang`` (None: the default model)."""
        for head in self.heads.values():
            if lang in head.serves:
                return head
        return None

    # -- stages ----------------------------------------------------------
    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of whole texts (one window, truncated at ``Settings.max_tokens``)."""
        encodings = self.backend.tokenizer.encode_batch([self.backend.prefix + t for t in texts])
        return [truncate(e.ids, self.settings.max_tokens) for e in encodings]

    def _batches(self, ids: Sequence[Sequence[int]]) -> Iterator[TokenBatch]:
        return token_batches(ids, self.settings.batch_size, self.backend.pad_id,
                             max_batch_tokens=self.settings.max_batch_tokens)

    def _calibrated(self, logits: np.ndarray | None) -> np.ndarray:
        assert logits is not None
        return calibrated_probabilities(logits, self.backend.temperature)

    def _analyze(self, texts: list[str]) -> list[MessageAnalysis]:
        from analyzer.text.langid import detect_languages
        from analyzer.text.pii import redact_batch

        if not texts:
            return []
        langs = detect_languages(texts, self.settings.lang_candidates,
                                 min_confidence=self.settings.lang_min_confidence)
        lang_list = langs["lang"].tolist()
        redactions = redact_batch(texts, lang_list, use_ner=self.use_ner)
        clean = [r.text for r in redactions]
        # The sentence pass does not need the message pass: the two run side by side (the ONNX
        # sessions compute on their calling threads), so a chat message with two sentences waits
        # for the longer pass, not for both.
        # (PyTorch runs one forward at a time with its own thread pool: there it stays sequential.)
        side = self.sentence_level and self.backend.concurrent
        pending = _side_pool().submit(self._sentence_sentiment, clean, lang_list) if side else None
        probs, theme_matches = self._encode_messages(clean, lang_list)
        if not self.sentence_level:
            sentences: list[list[SentenceSentiment]] = [[] for _ in clean]
        elif pending is not None:
            sentences = pending.result()
        else:
            sentences = self._sentence_sentiment(clean, lang_list)
        results = sentiment_results(probs, self.backend.labels)
        return [
            MessageAnalysis(clean[i], lang_list[i], float(langs["lang_confidence"].iloc[i]), redactions[i].types,
                            results[i], sentences[i], theme_matches[i])
            for i in range(len(texts))
        ]

    def _forward(self, texts: list[str], theme_w: np.ndarray) -> _Pass:
        """One pass: shared trunk, then the sentiment branch and the base branch (themes).

        A text longer than the encoder's window is cut into consecutive windows; its sentiment
        and its theme embedding are the token-weighted means over its windows. Per token, only its
        projection on the columns of ``theme_w`` is kept (the evidence spans need nothing else).
        """
        be = self.backend
        encodings = be.tokenizer.encode_batch([be.prefix + t for t in texts])
        windows = [(i, w) for i, e in enumerate(encodings) for w in cut_windows(e.ids, e.offsets, self.window_tokens)]
        n_win = len(windows)
        win_probs = np.zeros((n_win, 3), dtype=np.float32)
        win_pooled = np.zeros((n_win, be.dim), dtype=np.float32)
        win_proj: list[np.ndarray] = [np.zeros((0, theme_w.shape[1]), np.float32)] * n_win
        for batch in self._batches([e.ids for _, e in windows]):
            fwd = be.forward(batch)
            assert fwd.hidden is not None
            win_probs[batch.index] = self._calibrated(fwd.logits)
            win_pooled[batch.index] = mean_pool_np(fwd.hidden, batch.mask)
            proj = fwd.hidden @ theme_w
            for row, w in enumerate(batch.index):
                win_proj[w] = proj[row, : batch.lengths[row]].copy()

        owner = np.array([i for i, _ in windows], dtype=int)
        weight = np.array([len(e.ids) for _, e in windows], dtype=np.float32)
        probs = np.zeros((len(texts), 3), dtype=np.float32)
        pooled = np.zeros((len(texts), be.dim), dtype=np.float32)
        np.add.at(probs, owner, win_probs * weight[:, None])
        np.add.at(pooled, owner, win_pooled * weight[:, None])
        probs /= probs.sum(1, keepdims=True).clip(min=1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True).clip(min=1e-9)
        total_weight = np.bincount(owner, weights=weight, minlength=len(texts))
        return _Pass(probs, pooled / norms, norms[:, 0], [w.offsets for _, w in windows], owner, total_weight,
                     win_proj)

    def _encode_messages(self, texts: list[str], langs: Sequence[str] | None = None
                         ) -> tuple[np.ndarray, list[list[ThemeMatch]]]:
        """Sentiment and themes of (redacted) texts: scores of the default model or of the text's
        language head, thresholds, the churn-intent detector, then the sentiment-agreement rules."""
        ids, K = self.taxonomy.ids, len(self.taxonomy.ids)
        heads = list(self.heads.values())
        fp = self._forward(texts, np.vstack([self.themes.weights_, *(h.weights_ for h in heads)]).T)
        route = np.array([heads.index(h) if (h := self.head_for(lang)) is not None else -1
                          for lang in (langs or ["und"] * len(texts))], dtype=int)
        z = self.themes.logits(fp.emb)
        thr = np.tile(np.asarray(self.themes.threshold_, dtype=float), (len(texts), 1))
        from_head = np.zeros((len(texts), K), bool)
        for j, head in enumerate(heads):
            rows = np.flatnonzero(route == j)
            if len(rows):
                zh = head.logits(fp.emb[rows], [texts[i] for i in rows])
                ok = ~np.isnan(zh)
                z[rows] = np.where(ok, zh, z[rows])
                thr[rows] = np.where(ok, head.threshold_, thr[rows])
                from_head[rows] = ok
        p = self.themes.probabilities(z)
        if self.themes.multi_label:
            cut = np.clip(thr * self.settings.theme_threshold_scale, 0.0, 0.999)
            found = [[ids[k] for k in np.flatnonzero(p[i] >= cut[i])] for i in range(len(texts))]
        else:
            found = self.themes.decide(p)
        intents = self._churn_intents(texts, found, p, route, heads)
        rules = [heads[j].rules_ if j >= 0 else self.default_rules for j in route]
        if self.themes.multi_label:
            agree_with_sentiment(ids, found, p, fp.probs, rules)
        matches: list[list[ThemeMatch]] = [[] for _ in texts]
        for i, theme_ids in enumerate(found):
            shares: dict[int, np.ndarray] = {}  # lexical shares per window of this text
            for tid in theme_ids:
                k = ids.index(tid)
                cue = intents[i]
                if tid == CHURN_INTENT and cue is not None and cue.source == "pattern":
                    matches[i].append(ThemeMatch(tid, cue.probability, cue.evidence, cue.start, cue.end))
                    continue
                row_head: LanguageHead | None = heads[route[i]] if from_head[i, k] else None
                col = k + K * (1 + route[i]) if row_head is not None else k
                scale = float(row_head.embedding_scale()[k]) if row_head is not None else 1.0
                best: ThemeMatch | None = None
                best_logit = -np.inf
                for w in np.flatnonzero(fp.owner == i).tolist():
                    # Per-token share of the theme's logit: pooling is a (weighted) mean, so
                    # w_k·h_t / (total tokens · |pooled|) sums exactly to the logit minus the bias;
                    # a language head adds its lexical model's share of each word to the word's tokens.
                    contrib = scale * fp.win_proj[w][:, col] / (fp.total_weight[i] * float(fp.norms[i]))
                    if row_head is not None:
                        if w not in shares:
                            shares[w] = row_head.lexical_token_shares(texts[i], fp.offsets[w], len(self.backend.prefix))
                        contrib = contrib + shares[w][:, k]
                    m = self._evidence(texts[i], fp.offsets[w], contrib, tid, float(p[i, k]))
                    if contrib.sum() > best_logit:
                        best, best_logit = m, float(contrib.sum())
                if best is not None:
                    matches[i].append(best)
            matches[i].sort(key=lambda m: -m.probability)
        return fp.probs, matches

    def _churn_intents(self, texts: list[str], found: list[list[str]], p: np.ndarray, route: np.ndarray,
                       heads: list[LanguageHead]) -> list[IntentMatch | None]:
        """The churn detector decides the churn_intent theme (in place in ``found``): its cues, or the
        language head's churn score above the head's own threshold."""
        if CHURN_INTENT not in self.taxonomy.ids or not self.themes.multi_label:
            return [None] * len(texts)
        kc = self.taxonomy.ids.index(CHURN_INTENT)
        out: list[IntentMatch | None] = []
        for i, text in enumerate(texts):
            head = heads[route[i]] if route[i] >= 0 else None
            learnt = head is not None and head.churn_threshold_ is not None
            m = self.intent.detect_one(text, float(p[i, kc]) if learnt else None,
                                       model_threshold=head.churn_threshold_ if head is not None else None)
            found[i] = [t for t in found[i] if t != CHURN_INTENT] + ([CHURN_INTENT] if m is not None else [])
            out.append(m)
        return out

    def _evidence(self, text: str, offsets: list[tuple[int, int]], contrib: np.ndarray, theme_id: str,
                  probability: float) -> ThemeMatch:
        shift = len(self.backend.prefix)
        # Only tokens of the message itself (not the prefix or special tokens) can be evidence.
        content = [j for j, (a, b) in enumerate(offsets) if b > a and a >= shift]
        if not content:
            return ThemeMatch(theme_id, probability, "", 0, 0)
        i, j = best_span(contrib[content])
        start, end = offsets[content[i]][0] - shift, offsets[content[j - 1]][1] - shift
        # Widen to whole words so the quote reads naturally.
        while start > 0 and text[start - 1].isalnum():
            start -= 1
        while end < len(text) and text[end].isalnum():
            end += 1
        return ThemeMatch(theme_id, probability, text[start:end].strip(), start, end)

    def _sentence_sentiment(self, texts: list[str], langs: list[str]) -> list[list[SentenceSentiment]]:
        from analyzer.text.sentences import split_sentences

        out: list[list[SentenceSentiment]] = [[] for _ in texts]
        multi = [i for i, t in enumerate(texts) if _MULTI_SENTENCE.search(t.strip())]
        if not multi:
            return out
        spans = split_sentences([texts[i] for i in multi], [langs[i] for i in multi])
        # Only texts that really have several sentences get per-sentence scores.
        flat_multi = [(i, a, b) for i, sp in zip(multi, spans, strict=True) if len(sp) > 1 for a, b in sp]
        if not flat_multi:
            return out
        probs = self.sentiment_proba([texts[i][a:b] for i, a, b in flat_multi])
        for (i, a, b), r in zip(flat_multi, sentiment_results(probs, self.backend.labels), strict=True):
            out[i].append(SentenceSentiment(a, b, r.label, round(r.score, 4)))
        return out


_ANALYZERS: dict[str, TextAnalyzer] = {}
_LOAD_LOCK = threading.Lock()
_SIDE_POOL: ThreadPoolExecutor | None = None

# Settings that change nothing an analyzer computes or loads (batch file handling, training data,
# the service): a change of these reuses the loaded analyzer. Every other field is part of the key.
_UNRELATED_FIELDS = frozenset({
    "chunk_rows", "max_text_chars", "datasets_dir",
    "data_dir", "database_url", "bootstrap_api_key", "cors_origins", "max_body_bytes", "max_upload_bytes",
    "max_batch_items", "retention_days", "alert_clock", "alert_lang", "rules", "foresight_model",
    "sweep_interval_s", "refit_interval_s", "worker_poll_s",
    "pseudonym_secret", "webhook_timeout_s", "webhook_max_attempts", "webhook_backoff_s", "webhook_backoff_max_s",
})


def _side_pool() -> ThreadPoolExecutor:
    global _SIDE_POOL
    with _LOAD_LOCK:
        if _SIDE_POOL is None:
            _SIDE_POOL = ThreadPoolExecutor(2, thread_name_prefix="sentences")
        return _SIDE_POOL


def _cache_key(settings: Settings, taxonomy: str | Path | None) -> str:
    """Everything that changes a loaded analyzer's results or resources: the settings (less the
    unrelated fields) and the taxonomy file (path and version on disk)."""
    values: dict[str, Any] = settings.model_dump(mode="json", exclude=set(_UNRELATED_FIELDS))
    path = taxonomy or settings.taxonomy
    if path is not None:
        p = Path(path).resolve()
        stat = p.stat() if p.is_file() else None
        values["taxonomy"] = [str(p), stat.st_mtime_ns if stat else None, stat.st_size if stat else None]
    return json.dumps(values, sort_keys=True, default=str)


def load_analyzer(settings: Settings | None = None, *, taxonomy: str | Path | None = None) -> TextAnalyzer:
    """Load the inference backend (encoder + sentiment model) and the theme model once per process.

    One analyzer is kept per distinct configuration (see :func:`_cache_key`); ``settings``
    defaults to the process settings and ``taxonomy`` to ``settings.taxonomy``.
    """
    settings = settings or get_settings()
    key = _cache_key(settings, taxonomy)
    with _LOAD_LOCK:
        if key not in _ANALYZERS:
            backend = load_backend(settings)
            tax = load_taxonomy(taxonomy or settings.taxonomy)
            themes = ThemeClassifier.load(settings.models_dir / "themes", tax)
            heads = load_language_heads(settings.models_dir / "themes", tax.ids)
            analyzer = TextAnalyzer(backend, themes, settings=settings, heads=heads)
            missing = [t for k, t in enumerate(tax.themes) if not themes.trained_[k]]
            if missing:
                # User-added themes: prototypes from their descriptions and examples.
                themes.add_prototypes({t.id: analyzer.encode(t.seed_texts()) for t in tax.themes})
            _ANALYZERS[key] = analyzer
        return _ANALYZERS[key]
