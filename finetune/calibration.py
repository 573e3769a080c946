"""Choices made on the dev split, as pure functions over arrays: lexical weight, temperature, out-of-scope rule."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from assistant.classifier import combine, log_softmax, oos_scores

LEXICAL_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)


def choose_lexical_weight(model_logits: np.ndarray, lexical_logits: np.ndarray, truth: np.ndarray) -> float:
    """The weight of the n-gram head with the best dev accuracy (the smallest among ties)."""
    accuracy = [float((combine(model_logits, lexical_logits, w, 1.0).argmax(1) == truth).mean()) for w in LEXICAL_WEIGHTS]
    return LEXICAL_WEIGHTS[int(np.argmax(accuracy))]


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The temperature T minimising the dev negative log-likelihood of softmax(logits / T) (Guo et al., 2017)."""
    if len(truth) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t))[np.arange(len(truth)), truth].mean())

    return float(np.exp(minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded").x))


def fit_mahalanobis(pooled: np.ndarray, labels: np.ndarray, ridge: float = 1e-3) -> dict[str, np.ndarray]:
    """Class means and the shared precision matrix of the (in-scope) training sentence vectors."""
    classes = np.unique(labels)
    means = np.stack([pooled[labels == c].mean(0) for c in classes]).astype(np.float32)
    centred = pooled - means[np.searchsorted(classes, labels)]
    covariance = centred.T @ centred / max(len(pooled) - 1, 1) + ridge * np.eye(pooled.shape[1])
    return {"oos_means": means, "oos_precision": np.linalg.pinv(covariance).astype(np.float32)}


def choose_threshold(scores: np.ndarray, correct: np.ndarray, is_oos: np.ndarray, max_loss: float) -> tuple[float, float]:
    """(threshold, dev out-of-scope recall): flag `score > threshold`, losing at most `max_loss` in-scope accuracy.

    `correct` says which in-scope rows the classifier gets right before any flagging; flagging one of
    them costs accuracy, flagging a wrong one costs nothing. Among the thresholds within the loss, the
    lowest (the one that flags most) is taken; without out-of-scope dev rows that is the same rule.
    """
    inscope = ~is_oos
    n_in = max(int(inscope.sum()), 1)
    candidates = np.unique(scores[inscope])[::-1]  # from flagging nothing to flagging more and more
    best = float(candidates[0]) if len(candidates) else float("inf")
    for threshold in candidates:
        lost = float((correct & inscope & (scores > threshold)).sum()) / n_in
        if lost > max_loss:
            break
        best = float(threshold)
    best = min(best, 1e30)  # rows scored infinite (flagged anyway) stay above it; the JSON stays finite
    recall = float((scores[is_oos] > best).mean()) if is_oos.any() else 0.0
    return best, recall


def choose_oos_rule(probs: np.ndarray, pooled: np.ndarray, stats: dict[str, np.ndarray], truth: np.ndarray,
                    is_oos: np.ndarray, oos_class: np.ndarray, max_loss: float) -> dict:
    """The out-of-scope method ("msp" or "mahalanobis") and threshold with the best dev recall within the loss.

    `oos_class` marks classes that are themselves "out of scope" (a trained `oos` class); a row
    predicted as one is flagged whatever the threshold.
    """
    predicted = probs.argmax(1)
    correct = (predicted == truth) & ~oos_class[predicted]
    already = oos_class[predicted]
    rules = []
    for method in ("msp", "mahalanobis"):
        if method == "mahalanobis" and not stats:
            continue
        scores = oos_scores(method, probs, pooled, stats)
        scores = np.where(already, np.inf, scores)  # these are flagged anyway: never let them set the threshold
        threshold, recall = choose_threshold(scores, correct, is_oos, max_loss)
        rules.append({"method": method, "threshold": threshold, "dev_oos_recall": round(recall, 4)})
    return max(rules, key=lambda r: (r["dev_oos_recall"], r["method"] == "msp"))
