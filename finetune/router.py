"""Train the router's intent and sentiment heads on frozen features of the labelled messages."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from assistant.pii import mask
from assistant.router import LinearHead, router_features, save_router
from finetune.args import RouterTrainingArgs
from retrieval.embedder import Embedder
from retrieval.errors import KnowledgeError
from retrieval.knowledge import LabelledMessage


def _can_hold_out(labels: list[str], fraction: float) -> bool:
    """A stratified split needs every class twice and room for one example of each on both sides."""
    counts = Counter(labels)
    test = int(np.ceil(fraction * len(labels)))
    return min(counts.values()) >= 5 and len(counts) <= test <= len(labels) - len(counts)


def _fit_head(features: sparse.csr_matrix, labels: list[str], c: float, args: RouterTrainingArgs,
              balanced: bool, dim: int, start: LogisticRegression | None = None) -> tuple[LinearHead, LogisticRegression]:
    """A linear head; `start` (the hold-out run's model) warm-starts the final fit on all messages."""
    model = start or LogisticRegression(C=c, max_iter=args.max_iter, class_weight="balanced" if balanced else None)
    model.warm_start = start is not None
    model.fit(features, labels)
    coef, bias = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary: sklearn keeps one row; softmax over [0, z] gives the same probabilities
        coef, bias = np.vstack([np.zeros_like(coef), coef]), np.array([0.0, bias[0]])
    return LinearHead(list(model.classes_), coef[:, :dim], coef[:, dim:], bias), model


def _predict(head: LinearHead, dense: np.ndarray, ngrams: sparse.csr_matrix) -> list[str]:
    return [head.labels[i] for i in head.probabilities(dense, ngrams).argmax(axis=1)]


def _scores(truth: list[str], predicted: list[str]) -> dict:
    return {"accuracy": round(float(accuracy_score(truth, predicted)), 4),
            "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4)}


def train_router(messages: list[LabelledMessage], embedder: Embedder, folder: Path, *,
                 args: RouterTrainingArgs | None = None, data_hash: str = "",
                 log: Callable[[str], None] = print, progress: bool = False) -> dict:
    """Measure on a held-out split, then fit on every message and save the router in `folder`.

    Returns the metrics, also saved in the folder's `router.json`:
    `{"holdout": {"intent": {...}, "sentiment": {...}, "per_language": {...}}, "train_size": ...}`.
    """
    args = args or RouterTrainingArgs()
    started = time.perf_counter()
    texts = [mask(m.text).text for m in messages]  # the router learns from what it will see: masked text
    intents = [m.intent for m in messages]
    sentiments = [m.sentiment for m in messages]
    log(f"Embedding {len(texts)} labelled messages with {embedder.name} ...")
    dense, ngrams = router_features(texts, embedder, args.n_features, progress=progress)
    features = sparse.hstack([sparse.csr_matrix(dense), ngrams]).tocsr()
    dim = dense.shape[1]

    metrics: dict = {"train_size": len(texts), "intents": len(set(intents))}
    starts: dict[str, LogisticRegression] = {}
    if len(set(sentiments)) < 2 or len(set(intents)) < 2:
        raise KnowledgeError("the labelled messages need at least two intents and two sentiments "
                             f"(found {sorted(set(intents))[:5]} and {sorted(set(sentiments))}): add messages")
    if args.holdout_fraction > 0 and not _can_hold_out(intents, args.holdout_fraction):
        log("Too few messages per intent to hold some out: training on all of them, without held-out metrics "
            "(at least 5 per intent are needed).")
    elif args.holdout_fraction > 0:
        train_idx, test_idx = train_test_split(np.arange(len(texts)), test_size=args.holdout_fraction,
                                               random_state=args.seed, stratify=intents)
        log(f"Measuring on a held-out {len(test_idx)} of {len(texts)} messages (seed {args.seed}) ...")
        intent_head, starts["intent"] = _fit_head(features[train_idx], [intents[i] for i in train_idx],
                                                  args.intent_c, args, False, dim)
        sentiment_head, starts["sentiment"] = _fit_head(features[train_idx], [sentiments[i] for i in train_idx],
                                                        args.sentiment_c, args, True, dim)
        predicted_intent = _predict(intent_head, dense[test_idx], ngrams[test_idx])
        predicted_sentiment = _predict(sentiment_head, dense[test_idx], ngrams[test_idx])
        truth_intent = [intents[i] for i in test_idx]
        truth_sentiment = [sentiments[i] for i in test_idx]
        per_language = {}
        for lang in sorted({messages[i].lang for i in test_idx}):
            rows = [j for j, i in enumerate(test_idx) if messages[i].lang == lang]
            per_language[lang] = {
                "n": len(rows),
                "intent_accuracy": _scores([truth_intent[j] for j in rows], [predicted_intent[j] for j in rows])["accuracy"],
                "sentiment_accuracy": _scores([truth_sentiment[j] for j in rows],
                                              [predicted_sentiment[j] for j in rows])["accuracy"]}
        metrics["holdout"] = {"n": len(test_idx), "seed": args.seed,
                              "intent": _scores(truth_intent, predicted_intent),
                              "sentiment": _scores(truth_sentiment, predicted_sentiment),
                              "per_language": per_language}
        log(f"Held-out intent accuracy {metrics['holdout']['intent']['accuracy']:.3f}, "
            f"sentiment accuracy {metrics['holdout']['sentiment']['accuracy']:.3f}")

    log("Fitting the router on all labelled messages ...")
    heads = {"intent": _fit_head(features, intents, args.intent_c, args, False, dim, starts.get("intent"))[0],
             "sentiment": _fit_head(features, sentiments, args.sentiment_c, args, True, dim,
                                    starts.get("sentiment"))[0]}
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    save_router(Path(folder), heads, {"embedder": embedder.name, "n_features": args.n_features,
                                      "data_hash": data_hash, "args": args.to_dict(), "metrics": metrics})
    return metrics
