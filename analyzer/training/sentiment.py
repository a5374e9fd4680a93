"""Training of the sentiment head: fine-tune the upper encoder layers on public labelled data.

The lower layers are frozen, so their outputs are computed once and cached (in fp16); each
epoch then only runs the upper layers.  That makes fine-tuning feasible on a 2-core laptop.
A stratified 10 % of the training data is held out for early stopping and temperature
calibration; evaluation sets are never read here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from torch import nn

from analyzer.inference.torch_encoder import TextEncoder, mean_pool, run_layers
from analyzer.inference.torch_sentiment import SentimentModel
from analyzer.training import corpora as data
from analyzer.training.corpora import SENTIMENT_LABELS

__all__ = ["TrainConfig", "add_theme_labels", "cache_trunk", "default_training_data", "fit_temperature",
           "train_sentiment"]


@dataclass
class TrainConfig:
    start_layer: int = 6
    epochs: int = 3
    batch_size: int = 32
    lr: float = 5e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    max_tokens: int = 64
    val_fraction: float = 0.1
    seed: int = 0
    # Multi-task: weight of an auxiliary complaint-theme loss (binary cross-entropy of a linear layer
    # on the same pooled states, on the rows that have theme labels); 0 = sentiment only. The
    # auxiliary layer is dropped after training: the artifact and its inference are unchanged.
    theme_weight: float = 0.0


def default_training_data(*, redact: bool = True) -> pd.DataFrame:
    """The ``train`` parts used for the shipped model (see models/sentiment/MODEL_CARD.md).

    With ``redact`` (the default) the texts are redacted exactly as the pipeline redacts them
    before the model sees them at inference (handles, URLs, names become placeholders), so
    training and inference see the same kind of text.
    """
    frames = [
        data.load_es_airline("train"),
        data.load_evomsa_es(),
        data.load_en_airline("train")[["text", "label", "lang", "source"]],
        data.load_opener_es("train"),
        # IMDb movie sentences are off-domain for customer messages; Amazon and Yelp are reviews.
        data.load_uci_en().query("source != 'imdb'"),
    ]
    df = pd.concat(frames, ignore_index=True)
    df = df[df["label"].isin(SENTIMENT_LABELS) & (df["text"].str.strip() != "")]
    df = df.drop_duplicates(subset=["text"]).reset_index(drop=True)
    if redact:
        from analyzer.text.pii import redact_batch

        df["text"] = [r.text for r in redact_batch(df["text"].tolist(), df["lang"].tolist())]
    return df


def add_theme_labels(train: pd.DataFrame, theme_ids: list[str]) -> pd.DataFrame:
    """A ``themes`` column for multi-task training: the complaint themes of the es_airline_reasons
    ``train`` tweets and of the English negatives with a mapped reason (lists of ids), None elsewhere.

    Matched on the raw text of each source, so call it on ``default_training_data(redact=False)``.
    """
    from analyzer.training.themes import AIRLINE_REASON_TO_THEME

    known = set(theme_ids)
    es = data.load_es_reasons("train")
    by_text: dict[str, list[str]] = {t: [x for x in th if x in known] for t, th in zip(es["text"], es["themes"],
                                                                                        strict=True)}
    en = data.load_en_airline("train")
    neg = en[(en["label"] == "negative") & en["reason"].isin(list(AIRLINE_REASON_TO_THEME))]
    for t, r in zip(neg["text"], neg["reason"], strict=True):
        by_text.setdefault(t, [AIRLINE_REASON_TO_THEME[r]])
    out = train.copy()
    out["themes"] = [by_text.get(t) for t in out["text"]]
    return out


def _cache_trunk(encoder: TextEncoder, texts: list[str], start_layer: int, max_tokens: int,
                 log: Callable[[str], None]) -> list[torch.Tensor]:
    ids = [x[:max_tokens - 1] + x[-1:] if len(x) > max_tokens else x for x in encoder.tokenize(texts)]
    out: list[torch.Tensor] = [torch.empty(0)] * len(texts)
    t0 = time.time()
    with torch.inference_mode():
        for n, batch in enumerate(encoder.batches(ids, 64)):
            hidden = encoder.trunk(batch, start_layer).to(torch.float16)
            lengths = batch.attention_mask.sum(1).tolist()
            for row, i in enumerate(batch.index):
                out[i] = hidden[row, : lengths[row]].clone()
            if n % 50 == 0:
                log(f"  trunk cache {min((n + 1) * 64, len(texts))}/{len(texts)} ({time.time() - t0:.0f}s)")
    return out


def _collate(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(s.shape[0] for s in states)
    hidden = torch.zeros(len(states), width, states[0].shape[1])
    mask = torch.zeros(len(states), width, dtype=torch.long)
    for i, s in enumerate(states):
        hidden[i, : s.shape[0]] = s.float()
        mask[i, : s.shape[0]] = 1
    return hidden, mask


def _batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length ("sortish"): little padding, still random."""
    order = rng.permutation(len(lengths))
    chunks = []
    for start in range(0, len(order), batch_size * 50):
        chunk = order[start : start + batch_size * 50]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        chunks += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(chunks)
    return chunks


def _logits(model: SentimentModel, states: list[torch.Tensor], idx: np.ndarray) -> torch.Tensor:
    model.head.eval()
    outs = []
    with torch.inference_mode():
        order = idx[np.argsort([states[i].shape[0] for i in idx])]
        for start in range(0, len(order), 128):
            sel = order[start : start + 128]
            hidden, mask = _collate([states[i] for i in sel])
            outs.append((sel, model.head(hidden, mask)))
    logits = torch.zeros(len(states), len(SENTIMENT_LABELS))
    for sel, out in outs:
        logits[torch.as_tensor(sel)] = out
    return logits[torch.as_tensor(idx)]


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Temperature that minimises the negative log-likelihood on held-out logits."""
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.exp().item())


def cache_trunk(encoder: TextEncoder, texts: list[str], config: TrainConfig | None = None, *,
                log: Callable[[str], None] = print) -> list[torch.Tensor]:
    """The frozen layers' outputs (fp16) of ``texts``: pass them to :func:`train_sentiment` as ``states``
    to train several models on the same data without recomputing them."""
    cfg = config or TrainConfig()
    return _cache_trunk(encoder, texts, cfg.start_layer, cfg.max_tokens, log)


def train_sentiment(encoder: TextEncoder, train: pd.DataFrame, config: TrainConfig | None = None, *,
                    log: Callable[[str], None] = print,
                    states: list[torch.Tensor] | None = None) -> tuple[SentimentModel, dict]:
    """Fine-tune a sentiment head; returns the model and its held-out validation metrics."""
    cfg = config or TrainConfig()
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    label_index = {lab: i for i, lab in enumerate(SENTIMENT_LABELS)}
    label_ids = train["label"].map(label_index).to_numpy(dtype=np.int64, copy=True)
    strata = train["source"].astype(str) + "/" + train["label"].astype(str)
    tr_idx, va_idx = train_test_split(np.arange(len(train)), test_size=cfg.val_fraction,
                                      random_state=cfg.seed, stratify=strata)
    log(f"training rows {len(tr_idx)}, validation rows {len(va_idx)}")
    if states is None:
        states = _cache_trunk(encoder, train["text"].tolist(), cfg.start_layer, cfg.max_tokens, log)
    lengths = np.array([s.shape[0] for s in states])
    y = torch.as_tensor(label_ids, dtype=torch.long)

    model = SentimentModel.init_from(encoder, cfg.start_layer)
    counts = np.bincount(label_ids[tr_idx], minlength=len(SENTIMENT_LABELS)).astype(float)
    # Square-root inverse-frequency weights: the target metric is macro-F1, but full inverse
    # weights over-predict the rare positive class on tweets.
    class_weights = torch.as_tensor(np.sqrt(counts.sum() / (len(counts) * counts)), dtype=torch.float32)
    params = [
        {"params": model.head.layers.parameters(), "lr": cfg.lr},
        {"params": model.head.classifier.parameters(), "lr": cfg.head_lr},
    ]
    aux, theme_y, theme_mask = None, None, None
    if cfg.theme_weight > 0 and "themes" in train.columns:
        ids = sorted({t for row in train["themes"] if isinstance(row, list) for t in row})
        theme_mask = torch.as_tensor([isinstance(row, list) for row in train["themes"]])
        theme_y = torch.as_tensor([[t in row for t in ids] if isinstance(row, list) else [False] * len(ids)
                                   for row in train["themes"]], dtype=torch.float32)
        aux = nn.Linear(encoder.dim, len(ids))
        params.append({"params": aux.parameters(), "lr": cfg.head_lr})
        log(f"multi-task: {int(theme_mask.sum())} rows with theme labels ({len(ids)} themes), "
            f"weight {cfg.theme_weight}")
    opt = torch.optim.AdamW(params, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(tr_idx) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warmup = max(1, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
    loss_fn = nn.CrossEntropyLoss(weight=class_weights)
    best_f1, best_state, history = -1.0, None, []
    for epoch in range(cfg.epochs):
        model.head.train()
        t0, running = time.time(), 0.0
        for step, sel in enumerate(_batches(lengths[tr_idx], cfg.batch_size, rng)):
            rows = tr_idx[sel]
            hidden, mask = _collate([states[i] for i in rows])
            if aux is None:
                loss = loss_fn(model.head(hidden, mask), y[rows])
            else:
                assert theme_y is not None and theme_mask is not None
                pooled = model.head.dropout(mean_pool(run_layers(model.head.layers, hidden, mask), mask))
                loss = loss_fn(model.head.classifier(pooled), y[rows])
                has = theme_mask[rows]
                if bool(has.any()):
                    loss = loss + cfg.theme_weight * nn.functional.binary_cross_entropy_with_logits(
                        aux(pooled[has]), theme_y[rows][has])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.head.parameters(), 1.0)
            opt.step()
            sched.step()
            running += float(loss.detach())
            if step % 100 == 0:
                log(f"  epoch {epoch + 1} step {step}/{steps_per_epoch} loss {running / (step + 1):.4f} "
                    f"({time.time() - t0:.0f}s)")
        val_logits = _logits(model, states, va_idx)
        f1 = f1_score(y[va_idx].numpy(), val_logits.argmax(1).numpy(), average="macro")
        history.append({"epoch": epoch + 1, "val_macro_f1": round(float(f1), 4)})
        log(f"epoch {epoch + 1}: validation macro-F1 {f1:.4f} ({time.time() - t0:.0f}s)")
        if f1 > best_f1:
            best_f1 = f1
            best_state = {k: v.detach().clone() for k, v in model.head.state_dict().items()}
    assert best_state is not None
    model.head.load_state_dict(best_state)
    model.head.eval()
    val_logits = _logits(model, states, va_idx)
    model.temperature = fit_temperature(val_logits, y[va_idx])
    probs = model.probabilities_from_logits(val_logits)
    nll = float(nn.functional.nll_loss(torch.log(torch.as_tensor(probs) + 1e-9), y[va_idx]))
    by_source = {}
    for source in sorted(train["source"].iloc[va_idx].unique()):
        sel = train["source"].to_numpy()[va_idx] == source
        by_source[str(source)] = round(float(f1_score(y[va_idx][sel].numpy(), probs[sel].argmax(1),
                                                       average="macro")), 4)
    metrics = {"val_macro_f1": round(float(best_f1), 4), "val_macro_f1_by_source": by_source,
               "val_nll_calibrated": round(nll, 4),
               "temperature": round(model.temperature, 4), "history": history,
               "train_rows": len(tr_idx), "val_rows": len(va_idx)}
    log(f"temperature {model.temperature:.3f}, calibrated validation NLL {nll:.4f}")
    return model, metrics
