"""Measure a saved classifier on a test set: scores, a per-class report and a confusion-matrix PNG."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from assistant.classifier import OOS_LABELS, TextClassifier
from finetune.classifier import classification_scores
from finetune.data import Example

REPORT_FILE = "report-{head}.json"
CONFUSION_FILE = "confusion-{head}.png"


def evaluate_classifier(folder: Path, test: list[Example], head: str, *, int8: bool = False,
                        report_dir: Path | None = None, progress: bool = False) -> dict:
    """Scores of the classifier in `folder` on the `head` labels of `test` (rows without one are skipped).

    With `report_dir`, writes `report-<head>.json` (per-class precision, recall, F1) and
    `confusion-<head>.png` there. The returned dict has `accuracy`, `macro_f1`, `n_test`,
    `predict_seconds`, and `inscope_accuracy`, `oos_recall`, `oos_precision` when out-of-scope rows exist.
    """
    rows = [e for e in test if e.label(head) is not None]
    classifier = TextClassifier(folder, int8=int8)
    classifier.warm_up()
    started = time.perf_counter()
    predictions = classifier.predict([e.text for e in rows], progress=progress)
    seconds = time.perf_counter() - started
    truth = ["oos" if e.label(head) in OOS_LABELS else e.label(head) for e in rows]
    predicted = ["oos" if p in OOS_LABELS else p for p in predictions.predicted(head)]
    scores = classification_scores(truth, predicted) | {
        "n_test": len(rows), "predict_seconds": round(seconds, 2),
        "texts_per_second": round(len(rows) / seconds, 1) if seconds else None}
    if report_dir is not None:
        write_report(Path(report_dir), head, truth, predicted)
    return scores


def write_report(folder: Path, head: str, truth: list[str], predicted: list[str]) -> None:
    """A per-class report (JSON) and a confusion matrix (PNG, rows: truth, columns: prediction)."""
    folder.mkdir(parents=True, exist_ok=True)
    report = classification_report(truth, predicted, output_dict=True, zero_division=0)
    (folder / REPORT_FILE.format(head=head)).write_text(json.dumps(report, indent=2, ensure_ascii=False),
                                                         encoding="utf-8")
    accuracy = float(np.mean([t == p for t, p in zip(truth, predicted)]))
    plot_confusion(truth, predicted, folder / CONFUSION_FILE.format(head=head),
                   f"{head}: accuracy {accuracy:.3f} on {len(truth)} texts (rows sum to 1)")


def plot_confusion(truth: list[str], predicted: list[str], path: Path, title: str) -> None:
    """A confusion matrix PNG: rows the true labels, columns the predicted ones, each row's shares."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(set(truth) | set(predicted))
    matrix = confusion_matrix(truth, predicted, labels=names).astype(np.float64)
    matrix /= np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = min(4 + 0.18 * len(names), 30)
    figure, axes = plt.subplots(figsize=(size, size))
    image = axes.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    if len(names) <= 60:
        axes.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        axes.set_yticks(range(len(names)), names, fontsize=7)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.colorbar(image, fraction=0.046, pad=0.04)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
