"""Complaint themes: a configurable taxonomy, a multi-label classifier and evidence spans.

Each theme is scored by a linear model on sentence embeddings.  Themes of the default
taxonomy have weights trained on public labelled data (``models/themes/``); a theme that a
user adds to the YAML file with a description and a few examples is scored by a prototype
(the mean embedding of its examples), so no encoder retraining is needed.  Because the
embedding is a mean of token vectors, a theme's logit splits exactly into per-token
contributions; the evidence span is the contiguous run of tokens that contributes most.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from analyzer.errors import ConfigError, ModelNotFoundError, NotFittedError

__all__ = ["Taxonomy", "Theme", "ThemeClassifier", "best_span", "load_taxonomy"]

ARTIFACT = "themes.npz"
ARTIFACT_META = "themes.json"
LANGS = ("es", "en")
_NEVER = -30.0  # bias of a theme with no weights: its probability is ~1e-13


@dataclass(frozen=True)
class Theme:
    """One complaint theme, with names, descriptions, examples and keywords per language."""

    id: str
    name: dict[str, str]
    description: dict[str, str]
    examples: dict[str, list[str]] = field(default_factory=dict)
    keywords: dict[str, list[str]] = field(default_factory=dict)
    complaint: bool = False  # a complaint: counts in the customer's risk ("complaints") and in rules

    def seed_texts(self) -> list[str]:
        """Descriptions and examples in every language: what defines the theme."""
        texts = [self.description[lang] for lang in LANGS if self.description.get(lang)]
        for lang in LANGS:
            texts += self.examples.get(lang, [])
        return texts


@dataclass(frozen=True)
class Taxonomy:
    """An ordered set of themes."""

    themes: tuple[Theme, ...]

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    @property
    def complaint_ids(self) -> tuple[str, ...]:
        """The themes marked ``complaint: true``: what the foresight engine counts as complaints."""
        return tuple(t.id for t in self.themes if t.complaint)

    def __getitem__(self, theme_id: str) -> Theme:
        for t in self.themes:
            if t.id == theme_id:
                return t
        raise KeyError(theme_id)

    def with_theme(self, theme: Theme) -> Taxonomy:
        """A copy with ``theme`` added (or replaced, if a theme with that id exists)."""
        return Taxonomy((*(t for t in self.themes if t.id != theme.id), theme))


def _as_lang_dict(value: object, field_name: str, theme_id: str) -> dict:
    if value is None:
        return {}
    if isinstance(value, str):
        return {lang: value for lang in LANGS}
    if not isinstance(value, dict):
        raise ConfigError(f"theme {theme_id!r}: {field_name} must be a mapping of language to value "
                          f"(es:/en:), got {type(value).__name__}.")
    return dict(value)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read a taxonomy YAML file (the bundled default when ``path`` is None)."""
    if path is None:
        text = resources.files("analyzer.resources").joinpath("taxonomy.yaml").read_text(encoding="utf-8")
        where = "the default taxonomy"
    else:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"taxonomy file {p} does not exist; copy analyzer/resources/taxonomy.yaml and edit it.")
        text, where = p.read_text(encoding="utf-8"), str(p)
    raw = yaml.safe_load(text) or {}
    items = raw.get("themes") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{where} has no 'themes:' list; see analyzer/resources/taxonomy.yaml for the format.")
    themes, seen = [], set()
    for item in items:
        if not isinstance(item, dict) or not item.get("id"):
            raise ConfigError(f"{where}: every theme needs an 'id'; got {item!r}.")
        tid = str(item["id"])
        if tid in seen:
            raise ConfigError(f"{where}: theme id {tid!r} appears twice.")
        seen.add(tid)
        description = _as_lang_dict(item.get("description"), "description", tid)
        examples = _as_lang_dict(item.get("examples"), "examples", tid)
        if not description and not examples:
            raise ConfigError(f"{where}: theme {tid!r} needs a description or examples so it can be recognised.")
        complaint = item.get("complaint", False)
        if not isinstance(complaint, bool):
            raise ConfigError(f"{where}: theme {tid!r}: complaint must be true or false; received {complaint!r}.")
        themes.append(Theme(
            id=tid,
            complaint=complaint,
            name=_as_lang_dict(item.get("name"), "name", tid) or {lang: tid for lang in LANGS},
            description=description,
            examples={k: [str(x) for x in v] for k, v in examples.items()},
            keywords={k: [str(x) for x in v] for k, v in _as_lang_dict(item.get("keywords"), "keywords", tid).items()},
        ))
    return Taxonomy(tuple(themes))


def best_span(contrib: np.ndarray, max_tokens: int = 12) -> tuple[int, int]:
    """Contiguous run of at most ``max_tokens`` tokens with the largest summed contribution."""
    n = len(contrib)
    if n == 0:
        return 0, 0
    best, best_i, best_j = -np.inf, 0, 1
    csum = np.concatenate([[0.0], np.cumsum(contrib)])
    for i in range(n):
        j_hi = min(n, i + max_tokens)
        sums = csum[i + 1 : j_hi + 1] - csum[i]
        k = int(np.argmax(sums))
        if sums[k] > best:
            best, best_i, best_j = float(sums[k]), i, i + k + 1
    return best_i, best_j


class ThemeClassifier:
    """Linear theme scorer over L2-normalised sentence embeddings.

    ``weights_`` has one row per theme; ``bias_`` and ``threshold_`` one value per theme.
    ``multi_label=False`` turns it into a single-label classifier (argmax), which is how a
    user-defined taxonomy such as BANKING77's 77 intents is evaluated.
    """

    #: Regularisation strengths tried when ``C`` is None (single-label), by cross-validation on the training rows.
    C_GRID = (1.0, 4.0, 16.0, 64.0)

    def __init__(self, taxonomy: Taxonomy, *, C: float | None = None, multi_label: bool = True) -> None:
        self.taxonomy = taxonomy
        self.C = C
        self.multi_label = multi_label

    # -- training --------------------------------------------------------
    def fit(self, X: np.ndarray, labels: Sequence[Sequence[str]] | Sequence[str], *,
            seeds: dict[str, np.ndarray] | None = None) -> ThemeClassifier:
        """Learn weights from embeddings ``X`` and labels (lists of theme ids, or one id per row).

        ``seeds`` maps theme ids to embeddings of their descriptions/examples from the taxonomy;
        they are added as labelled rows (what a user writes about a theme is evidence too).
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import cross_val_predict

        if seeds:
            extra = [(tid, row) for tid, rows in seeds.items() for row in np.atleast_2d(rows)]
            X = np.vstack([X, np.stack([row for _, row in extra])])
            single = len(labels) == 0 or isinstance(labels[0], str)
            labels = [*labels, *[(tid if single else [tid]) for tid, _ in extra]]

        ids = self.taxonomy.ids
        unknown = {lab for row in labels for lab in ([row] if isinstance(row, str) else row)} - set(ids) - {""}
        if unknown:
            raise ConfigError(f"labels {sorted(unknown)[:5]} are not themes of the taxonomy ({ids[:5]}...).")
        if self.multi_label:
            Y = np.array([[tid in (row if not isinstance(row, str) else [row]) for tid in ids] for row in labels])
            # Untrained themes never fire until they get a prototype (add_prototypes).
            W, b, thr = np.zeros((len(ids), X.shape[1])), np.full(len(ids), _NEVER), np.full(len(ids), 0.5)
            for k in range(len(ids)):
                y = Y[:, k]
                if y.sum() < 2:
                    continue  # left to the prototype scorer
                clf = LogisticRegression(C=self.C or 4.0, max_iter=2000, class_weight="balanced")
                # Threshold from out-of-fold probabilities of the training data itself.
                oof = cross_val_predict(clf, X, y, cv=3, method="predict_proba")[:, 1]
                thr[k] = _best_threshold(oof, y)
                clf.fit(X, y)
                W[k], b[k] = clf.coef_[0], clf.intercept_[0]
            self.trained_ = Y.sum(0) >= 2
        else:
            y = np.asarray(labels)
            self.C_ = self.C or _select_C(X, y, self.C_GRID)
            clf = LogisticRegression(C=self.C_, max_iter=3000)
            clf.fit(X, y)
            order = [list(clf.classes_).index(t) if t in clf.classes_ else -1 for t in ids]
            W = np.stack([clf.coef_[i] if i >= 0 else np.zeros(X.shape[1]) for i in order])
            b = np.array([clf.intercept_[i] if i >= 0 else _NEVER for i in order])
            thr = np.zeros(len(ids))
            self.trained_ = np.array([i >= 0 for i in order])
        self.weights_, self.bias_, self.threshold_ = W.astype(np.float32), b.astype(np.float32), thr
        return self

    def add_prototypes(self, seed_embeddings: dict[str, np.ndarray]) -> ThemeClassifier:
        """Score untrained themes by cosine similarity to the mean of their seed embeddings.

        The scale and offset are chosen so that the theme's own seeds sit above the decision
        threshold and the other themes' seeds below it (leave-one-out, from the seeds alone).
        """
        self._check()
        for k, tid in enumerate(self.taxonomy.ids):
            if self.trained_[k] or tid not in seed_embeddings:
                continue
            own = seed_embeddings[tid]
            proto = own.mean(0)
            proto /= np.linalg.norm(proto) + 1e-9
            loo = [(own.sum(0) - own[i]) for i in range(len(own))] if len(own) > 2 else [proto] * len(own)
            own_sim = np.array([own[i] @ (v / (np.linalg.norm(v) + 1e-9)) for i, v in enumerate(loo)])
            others = np.concatenate([v for t, v in seed_embeddings.items() if t != tid] or [np.zeros((1, len(proto)))])
            other_sim = others @ proto
            cut = float((np.percentile(own_sim, 25) + np.percentile(other_sim, 95)) / 2)
            scale = 20.0
            self.weights_[k] = proto * scale
            self.bias_[k] = -scale * cut
            self.threshold_[k] = 0.5
        return self

    # -- inference -------------------------------------------------------
    def _check(self) -> None:
        if not hasattr(self, "weights_"):
            raise NotFittedError("ThemeClassifier is not fitted: call fit() or ThemeClassifier.load().")

    def logits(self, X: np.ndarray) -> np.ndarray:
        self._check()
        return np.asarray(X @ self.weights_.T + self.bias_)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """``[n, n_themes]``: independent probabilities (multi-label) or a softmax (single-label)."""
        return self.probabilities(self.logits(X))

    def probabilities(self, z: np.ndarray) -> np.ndarray:
        """Probabilities from logits ``[n, n_themes]``: sigmoids (multi-label) or a softmax (single-label)."""
        if self.multi_label:
            return np.asarray(1.0 / (1.0 + np.exp(-z)))
        z = z - z.max(1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(1, keepdims=True))

    def predict(self, X: np.ndarray, threshold_scale: float = 1.0) -> list[list[str]]:
        """Theme ids per row: above threshold (multi-label) or the argmax (single-label)."""
        return self.decide(self.predict_proba(X), threshold_scale)

    def decide(self, p: np.ndarray, threshold_scale: float = 1.0) -> list[list[str]]:
        """Theme ids per row from probabilities already computed by :meth:`predict_proba`."""
        ids = self.taxonomy.ids
        if not self.multi_label:
            return [[ids[int(i)]] for i in p.argmax(1)]
        thr = np.clip(self.threshold_ * threshold_scale, 0.0, 0.999)
        return [[ids[k] for k in np.flatnonzero(row >= thr)] for row in p]

    # -- persistence -----------------------------------------------------
    def save(self, folder: Path, meta: dict) -> None:
        self._check()
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / ARTIFACT, weights=self.weights_.astype(np.float16), bias=self.bias_,
                            threshold=self.threshold_, trained=self.trained_, ids=np.array(self.taxonomy.ids))
        meta = {**meta, "multi_label": self.multi_label, "themes": self.taxonomy.ids}
        (folder / ARTIFACT_META).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, folder: Path, taxonomy: Taxonomy) -> ThemeClassifier:
        """Load trained weights; themes of ``taxonomy`` missing from the artifact stay untrained
        (give them prototypes with :meth:`add_prototypes`)."""
        path = folder / ARTIFACT
        if not path.is_file():
            raise ModelNotFoundError(f"no theme model at {path}; train one with `darkfeedback train-themes`.")
        z = np.load(path)
        saved = {str(t): i for i, t in enumerate(z["ids"])}
        meta = json.loads((folder / ARTIFACT_META).read_text()) if (folder / ARTIFACT_META).is_file() else {}
        clf = cls(taxonomy, multi_label=bool(meta.get("multi_label", True)))
        n, d = len(taxonomy.ids), z["weights"].shape[1]
        clf.weights_, clf.bias_ = np.zeros((n, d), np.float32), np.full(n, _NEVER, np.float32)
        clf.threshold_, clf.trained_ = np.full(n, 0.5), np.zeros(n, bool)
        for k, tid in enumerate(taxonomy.ids):
            if tid in saved and bool(z["trained"][saved[tid]]):
                i = saved[tid]
                clf.weights_[k], clf.bias_[k] = z["weights"][i].astype(np.float32), z["bias"][i]
                clf.threshold_[k], clf.trained_[k] = z["threshold"][i], True
        clf.meta = meta  # type: ignore[attr-defined]
        return clf


def _select_C(X: np.ndarray, y: np.ndarray, grid: Sequence[float]) -> float:
    """The strength with the best 3-fold cross-validated accuracy on the training rows themselves."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    counts = np.unique(y, return_counts=True)[1]
    if counts.min() < 3:
        return 4.0  # too few rows per theme to cross-validate
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = [cross_val_score(LogisticRegression(C=c, max_iter=3000), X, y, cv=cv).mean() for c in grid]
    return float(grid[int(np.argmax(scores))])


def _best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    best_t, best_f = 0.5, -1.0
    for t in np.linspace(0.1, 0.95, 35):
        pred = p >= t
        tp = float((pred & y).sum())
        f = 2 * tp / max(1.0, float(pred.sum() + y.sum()))
        if f > best_f:
            best_t, best_f = float(t), f
    return best_t
