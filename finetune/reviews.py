"""Train the review sentiment model on labelled reviews (a label column, or star ratings)."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from assistant.pii import mask_and_cut
from assistant.review_files import ReviewFile, label_from_rating
from assistant.review_model import review_features, save_review_model
from finetune.args import ReviewTrainingArgs
from retrieval.embedder import Embedder
from retrieval.errors import KnowledgeError
from retrieval.lexical import hashed_idf


def labelled_reviews(review_file: ReviewFile) -> tuple[list[str], list[str], list[str | None]]:
    """(masked texts, labels, products) of the file's reviews that carry a label or a star rating."""
    texts, labels, products = [], [], []
    for raw in review_file:
        label = raw.label or label_from_rating(raw.rating)
        if label is None:
            review_file.skip(raw.line, "no label and no rating")
            continue
        texts.append(mask_and_cut(raw.text, review_file.max_chars)[0].text)
        labels.append(label)
        products.append(raw.product)
    return texts, labels, products


def _deduplicated(texts, labels, products):
    """The first of each repeated text (whitespace and case aside); returns how many were dropped."""
    seen: set[str] = set()
    keep = []
    for i, text in enumerate(texts):
        key = " ".join(text.lower().split())
        if key not in seen:
            seen.add(key)
            keep.append(i)
    pick = lambda values: [values[i] for i in keep] if values is not None else None  # noqa: E731
    return pick(texts), pick(labels), pick(products), len(texts) - len(keep)


def data_hash(texts: list[str], labels: list[str]) -> str:
    """SHA-256 of the training data, saved with the model (which reviews made it)."""
    digest = hashlib.sha256()
    for text, label in zip(texts, labels):
        digest.update(f"{label}\t{text}\n".encode("utf-8"))
    return digest.hexdigest()


def _fit(features: sparse.csr_matrix, labels: list[str], args: ReviewTrainingArgs) -> LogisticRegression:
    return LogisticRegression(C=args.c, max_iter=args.max_iter, class_weight="balanced").fit(features, labels)


def _features(texts, idf, args, embedder, progress):
    dense, ngrams = review_features(texts, args.n_features, idf, embedder, progress=progress)
    return sparse.hstack([sparse.csr_matrix(dense), ngrams]).tocsr(), dense.shape[1]


def train_review_model(texts: list[str], labels: list[str], folder: Path, *, products: list[str | None] | None = None,
                       args: ReviewTrainingArgs | None = None, embedder: Embedder | None = None,
                       log: Callable[[str], None] = print, progress: bool = False) -> dict:
    """Measure on a held-out split (accuracy overall and per product), then fit on all and save in `folder`.

    Returns the metrics, also saved in `review_model.json`:
    `{"holdout": {"n", "accuracy", "macro_f1", "per_product": {name: {"n", "accuracy"}}}, "train_size", ...}`.
    """
    args = args or ReviewTrainingArgs()
    embedder = embedder if args.encoder else None
    texts, labels, products, duplicates = _deduplicated(texts, labels, products)
    if duplicates:
        log(f"{duplicates} repeated reviews dropped (a review in both splits would flatter the held-out accuracy)")
    counts = Counter(labels)
    if len(counts) < 2 or min(counts.values()) < 2:
        raise KnowledgeError(f"training a review model needs reviews of at least two sentiments, two of each "
                             f"(found {dict(counts)}): add labelled or rated reviews")
    started = time.perf_counter()
    metrics: dict = {"train_size": len(texts), "labels": dict(counts), "duplicates_dropped": duplicates}
    test_size = int(np.ceil(args.holdout_fraction * len(texts)))
    if args.holdout_fraction > 0 and min(counts.values()) >= 5 and len(counts) <= test_size:
        train_idx, test_idx = train_test_split(np.arange(len(texts)), test_size=args.holdout_fraction,
                                               random_state=args.seed, stratify=labels)
        log(f"Measuring on a held-out {len(test_idx)} of {len(texts)} reviews (seed {args.seed}) ...")
        idf = hashed_idf([texts[i] for i in train_idx], args.n_features)
        features, _ = _features(texts, idf, args, embedder, progress)
        model = _fit(features[train_idx], [labels[i] for i in train_idx], args)
        predicted = model.predict(features[test_idx])
        truth = [labels[i] for i in test_idx]
        holdout = {"n": len(test_idx), "seed": args.seed, "accuracy": round(float(accuracy_score(truth, predicted)), 4),
                   "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4)}
        if products is not None:
            groups: dict[str, list[int]] = {}
            for j, i in enumerate(test_idx):
                groups.setdefault(products[i] or "(none)", []).append(j)
            holdout["per_product"] = {name: {"n": len(rows), "accuracy": round(float(
                accuracy_score([truth[j] for j in rows], [predicted[j] for j in rows])), 4)}
                for name, rows in sorted(groups.items())}
        metrics["holdout"] = holdout
        log(f"Held-out accuracy {holdout['accuracy']:.4f} (macro-F1 {holdout['macro_f1']:.4f})")
    else:
        log("Too few reviews per label to hold some out (5 of each are needed): training on all of them.")
    log(f"Fitting the review model on all {len(texts)} reviews ...")
    idf = hashed_idf(texts, args.n_features)
    features, dim = _features(texts, idf, args, embedder, progress)
    model = _fit(features, labels, args)
    coef, bias = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary: one row in sklearn; softmax over [0, z] gives the same probabilities
        coef, bias = np.vstack([np.zeros_like(coef), coef]), np.array([0.0, bias[0]])
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    save_review_model(Path(folder), labels=list(model.classes_), idf=idf, coef=np.asarray(coef), bias=np.asarray(bias),
                      config={"n_features": args.n_features, "embedder": embedder.name if embedder else None,
                              "data_hash": data_hash(texts, labels),
                              "dim": dim, "args": args.to_dict(), "metrics": metrics})
    return metrics
