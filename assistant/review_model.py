"""What a review's words say: positive, negative (or neutral), from a model trained on labelled reviews.

The review model is a linear head over sublinear TF-IDF of hashed character 1-3-grams, optionally joined
with the multilingual encoder's sentence embedding. On Chinese product reviews the n-grams alone match a
TF-IDF + linear SVM (the baseline of ../shared/FINDINGS.md) and read thousands of reviews a second on two
cores; the encoder adds accuracy when a shop has few labelled reviews but reads ~26 a second here
(bench/README.md, "Review analysis"). A shop without labelled reviews reads them with the router's
sentiment head instead (`SentimentReader`).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Protocol

import numpy as np
from scipy import sparse

from assistant.errors import ModelMissing
from assistant.router import LinearHead, readings
from assistant.types import Reading
from retrieval.embedder import Embedder
from retrieval.lexical import hashed_tfidf

CONFIG_FILE = "review_model.json"
WEIGHTS_FILE = "weights.npz"


class SentimentReader(Protocol):
    name: str

    def read(self, texts: list[str]) -> list[Reading]:
        """The sentiment of each (masked) text."""


class ReviewModel:
    """A review sentiment model folder written by `finetune.reviews.train_review_model`.

    Example:
        >>> ReviewModel(folder).read(["物流很快，质量很好", "Broke after two days"])
        [Reading(sentiment='positive', negative_score=0.03), Reading(sentiment='negative', negative_score=0.91)]
    """

    def __init__(self, folder: Path, name: str = "reviews", embedder: Embedder | None = None):
        self.folder = Path(folder)
        self.name = name
        self.embedder = embedder
        self._head: LinearHead | None = None
        self._idf: np.ndarray | None = None
        self._config: dict = {}
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._head is not None:
                return
            path = self.folder / CONFIG_FILE
            if not path.is_file() or not (self.folder / WEIGHTS_FILE).is_file():
                raise ModelMissing(f"{self.folder} is not a review model (expected {CONFIG_FILE} and {WEIGHTS_FILE}): "
                                   "run `assistant train reviews FILE`")
            try:
                config = json.loads(path.read_text(encoding="utf-8"))
                with np.load(self.folder / WEIGHTS_FILE) as weights:
                    idf, coef, bias = weights["idf"], weights["coef"], weights["bias"]
            except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
                raise ModelMissing(f"the review model in {self.folder} is damaged ({exc}): "
                                   "run `assistant train reviews FILE`") from exc
            wanted = config.get("embedder")
            if wanted and (self.embedder is None or self.embedder.name != wanted):
                raise ModelMissing(f"the review model in {self.folder} reads sentence embeddings of {wanted!r}, the "
                                   f"settings give {getattr(self.embedder, 'name', None)!r}: train it again with "
                                   "`assistant train reviews FILE`")
            dim = int(config.get("dim", 0))
            self._config, self._idf = config, idf
            self._head = LinearHead(config["labels"], coef[:, :dim], coef[:, dim:], bias)

    @property
    def config(self) -> dict:
        self.warm_up()
        return self._config

    def read(self, texts: list[str]) -> list[Reading]:
        self.warm_up()
        if not texts:
            return []
        dense, ngrams = review_features(texts, self._config["n_features"], self._idf,
                                        self.embedder if self._config.get("embedder") else None)
        return readings(self._head.labels, self._head.probabilities(dense, ngrams))


def review_features(texts: list[str], n_features: int, idf: np.ndarray, embedder: Embedder | None = None,
                    progress: bool = False) -> tuple[np.ndarray, sparse.csr_matrix]:
    """(sentence embeddings, or an empty array without an encoder; hashed TF-IDF n-grams) of the texts."""
    if embedder is None:
        dense = np.zeros((len(texts), 0), np.float32)
    else:
        dense = embedder.encode(texts, kind="query", progress=progress)
    return dense, hashed_tfidf(texts, n_features, idf)


def save_review_model(folder: Path, *, labels: list[str], idf: np.ndarray, coef: np.ndarray, bias: np.ndarray,
                      config: dict) -> None:
    """Write a review model folder: `weights.npz` (idf, coef, bias) and `review_model.json`."""
    folder = Path(folder)
    np.savez_compressed(folder / WEIGHTS_FILE, idf=idf.astype(np.float32), coef=coef.astype(np.float32),
                        bias=bias.astype(np.float32))
    (folder / CONFIG_FILE).write_text(json.dumps({**config, "labels": list(labels)}, indent=2, ensure_ascii=False),
                                      encoding="utf-8")
