"""What the two layer-saving shortcuts of the text pipeline would cost in accuracy, measured.

    .venv/bin/python benchmarks/shortcuts.py          # about 4 minutes on 2 cores

The message pass runs 18 transformer layers (6 shared, 6 sentiment, 6 base for the themes) and
every sentence of a multi-sentence message gets 12 more.  Two shortcuts would save most of that:

1. sentence scores read off the message's own pass (the sentiment branch's token states pooled
   over each sentence's tokens) instead of one pass per sentence;
2. the theme heads trained on the trunk's or the sentiment branch's pooled states instead of the
   base encoder's last layer, so the 6 base layers are not run.

Both are measured on training-side data only (never on the evaluation splits):

1. OpeNER Spanish hotel reviews (``opener_es_hotels`` train split), whose sentences are labelled one
   by one: runs of 2-3 consecutive sentences of a review form one message (the ones within the
   sentiment model's window), and each sentence's label is predicted both ways;
2. the theme training data with 20 % of its labelled English complaints held out.

The shortcuts are not taken: see the numbers this prints and ``models/sentiment/MODEL_CARD.md``.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

SENTIMENT_LABELS = ["negative", "neutral", "positive"]


def _messages_of_sentences(per_message: int = 3) -> list[tuple[str, list[tuple[int, int]], list[str]]]:
    from analyzer.settings import get_settings

    d = pd.read_csv(get_settings().datasets_dir / "opener_es_hotels" / "opener_es_sentences.csv")
    d = d[d["split"] == "train"].copy()
    d["review"] = d["sent_id"].str.rsplit("-", n=1).str[0]
    d["k"] = d["sent_id"].str.rsplit("-", n=1).str[1].astype(int)
    d["label"] = d["sentence_polarity"].replace({"none": "neutral"})
    out = []
    for _, g in d.sort_values(["review", "k"]).groupby("review", sort=False):
        rows = list(zip(g["text"].astype(str), g["label"], strict=True))
        for lo in range(0, len(rows), per_message):
            part = rows[lo: lo + per_message]
            if len(part) < 2:
                continue
            text, spans = "", []
            for t, _ in part:
                text += " " if text else ""
                spans.append((len(text), len(text) + len(t)))
                text += t
            out.append((text, spans, [lab for _, lab in part]))
    return out


def sentence_shortcut(analyzer: Any) -> dict[str, Any]:
    from analyzer.inference.backends import token_batches
    from analyzer.text.results import calibrated_probabilities

    be = analyzer.backend
    labels = list(be.labels)
    messages = _messages_of_sentences()
    encs = be.tokenizer.encode_batch([be.prefix + m[0] for m in messages])
    keep = [i for i, e in enumerate(encs) if len(e.ids) <= be.window_tokens]
    shift = len(be.prefix)
    sentences = [messages[i][0][a:b] for i in keep for a, b in messages[i][1]]
    # One pass per sentence (what the pipeline does), in the order of ``keep``.
    separate = [labels[k] for k in analyzer.sentiment_proba(sentences).argmax(1)]
    contextual: dict[tuple[int, int], str] = {}
    for batch in token_batches([encs[i].ids for i in keep], 32, be.pad_id, max_batch_tokens=2048):
        top, _ = be._rows(batch.input_ids, batch.lengths, sentiment=True, base=False)
        for row, j in enumerate(batch.index):
            i = keep[int(j)]
            offsets = encs[i].offsets[: batch.lengths[row]]
            for s_i, (a, b) in enumerate(messages[i][1]):
                # The sentence's own tokens in the message's pass, pooled as the head was trained.
                toks = [t for t, (u, v) in enumerate(offsets)
                        if v > u and u >= shift and u - shift >= a and v - shift <= b + 1] or list(range(len(offsets)))
                logits = top[row, toks].mean(0) @ be._w.T + be._b
                contextual[i, s_i] = labels[int(calibrated_probabilities(logits[None], be.temperature)[0].argmax())]
    gold = [lab for i in keep for lab in messages[i][2]]
    ctx = [contextual[i, s_i] for i in keep for s_i in range(len(messages[i][1]))]
    mixed = [len(set(messages[i][2])) > 1 for i in keep for _ in messages[i][2]]
    g, sep, ctx_a, mix = (np.array(x) for x in (gold, separate, ctx, mixed))
    ok = g != "mixed"  # sentences annotated as mixed have no single label

    def f1(pred: np.ndarray, m: np.ndarray) -> float:
        return round(float(f1_score(g[m], pred[m], labels=SENTIMENT_LABELS, average="macro")), 4)

    return {"messages": len(keep), "sentences": int(ok.sum()), "in mixed messages": int((ok & mix).sum()),
            "separate pass macro-F1": f1(sep, ok), "from the message's pass macro-F1": f1(ctx_a, ok),
            "separate, mixed messages": f1(sep, ok & mix), "message's pass, mixed messages": f1(ctx_a, ok & mix)}


def theme_shortcut(analyzer: Any) -> dict[str, Any]:
    from analyzer.inference.backends import mean_pool_np
    from analyzer.text.themes import ThemeClassifier
    from analyzer.training.themes import AIRLINE_REASON_TO_THEME, theme_training_data

    be, tax = analyzer.backend, analyzer.taxonomy
    train = theme_training_data(tax)
    texts = train["text"].tolist()
    emb = {k: np.zeros((len(texts), be.dim), np.float32) for k in ("trunk", "sentiment", "base")}
    for b in analyzer._batches(analyzer._token_ids(texts)):
        feeds = {"input_ids": b.input_ids.astype(np.int32), "lengths": b.lengths.astype(np.int32)}
        trunk = be.sessions["trunk"].run(None, feeds)[0]
        branch = {"hidden_in": trunk, "lengths": feeds["lengths"]}
        emb["trunk"][b.index] = mean_pool_np(trunk, b.mask)
        for g in ("sentiment", "base"):
            emb[g][b.index] = mean_pool_np(be.sessions[g].run(None, branch)[0], b.mask)
    emb = {k: v / np.linalg.norm(v, axis=1, keepdims=True) for k, v in emb.items()}
    emb["trunk + sentiment"] = np.hstack([emb["trunk"], emb["sentiment"]]) / np.sqrt(2)
    complaint = (train["source"] == "en_airline_tweets") & train["themes"].map(
        lambda t: len(t) == 1 and t[0] != "praise")
    held = (complaint & (np.random.default_rng(0).random(len(train)) < 0.2)).to_numpy()
    ids = tax.ids
    cands = [k for k, t in enumerate(ids) if t in set(AIRLINE_REASON_TO_THEME.values())]
    gold = [t[0] for t in train["themes"][held]]
    out: dict[str, Any] = {"held-out complaints": int(held.sum())}
    for name, X in emb.items():
        clf = ThemeClassifier(tax).fit(X[~held], train["themes"][~held].tolist())
        pred = [ids[cands[int(i)]] for i in clf.predict_proba(X[held])[:, cands].argmax(1)]
        out[f"{name} macro-F1"] = round(float(f1_score(gold, pred, labels=sorted(set(AIRLINE_REASON_TO_THEME.values())),
                                                       average="macro")), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.parse_args(argv)
    from analyzer.text.pipeline import load_analyzer

    analyzer = load_analyzer()
    print("1. sentence scores, OpeNER es hotel reviews (train), 2-3 sentences per message:")
    for k, v in sentence_shortcut(analyzer).items():
        print(f"   {k}: {v}")
    print("2. theme heads on other layers, held-out English complaints of the theme training data:")
    for k, v in theme_shortcut(analyzer).items():
        print(f"   {k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
