"""The router: a message's intent (or out of scope), its sentiment, and the entities it carries.

It reads a message with one of two models, whichever folder it is given:
- a fine-tuned classifier (`assistant.classifier`, from `assistant train classifier`): one tuned
  encoder with an intent and a sentiment head, calibrated, with its own out-of-scope rule;
- the instant bootstrap router: two linear heads (intent, sentiment) over one feature vector, the
  frozen sentence embedding of the message joined with hashed character n-grams, which read Chinese
  and typos where an English encoder sees unknown tokens (trained at the first start in seconds).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
from scipy import sparse

from assistant.classifier import CONFIG_FILE as CLASSIFIER_CONFIG
from assistant.classifier import TextClassifier
from assistant.entities import extract_entities
from assistant.errors import ModelMissing
from assistant.types import Reading, Route
from retrieval.embedder import Embedder
from retrieval.language import detect_language
from retrieval.lexical import hashed_ngrams

CONFIG_FILE = "router.json"
WEIGHTS_FILE = "weights.npz"
HEADS = ("intent", "sentiment")


def router_features(texts: list[str], embedder: Embedder, n_features: int,
                    progress: bool = False) -> tuple[np.ndarray, sparse.csr_matrix]:
    """The (dense embeddings, sparse n-grams) pair both training and routing compute.

    Each embedding is scaled by the share of the text the encoder can read: the vector an English
    encoder makes of Chinese [UNK] tokens is noise, and the n-grams must carry such a message alone.
    """
    readable = np.array([1.0 - embedder.unknown_fraction(t) for t in texts], dtype=np.float32)
    dense = embedder.encode(texts, kind="query", progress=progress) * readable[:, None]
    return dense, hashed_ngrams(texts, n_features)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def readings(labels: list[str], probs: np.ndarray) -> list[Reading]:
    """A sentiment reading per row of class probabilities over `labels`."""
    negative = labels.index("negative") if "negative" in labels else None
    return [Reading(labels[int(row.argmax())], float(row[negative]) if negative is not None else 0.0)
            for row in probs]


class LinearHead:
    """Class probabilities from `dense @ Wd.T + ngrams @ Ws.T + b`."""

    def __init__(self, labels: list[str], dense_weight: np.ndarray, sparse_weight: np.ndarray, bias: np.ndarray):
        self.labels = list(labels)
        self.dense_weight = np.asarray(dense_weight, dtype=np.float32)
        self.sparse_weight = np.asarray(sparse_weight, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float32)

    def probabilities(self, dense: np.ndarray, ngrams: sparse.csr_matrix) -> np.ndarray:
        logits = dense @ self.dense_weight.T + np.asarray(ngrams @ self.sparse_weight.T) + self.bias
        return softmax(logits)


def save_router(folder: Path, heads: dict[str, LinearHead], config: dict) -> None:
    """Write a router folder: `weights.npz` and `router.json` (labels, embedder, data hash, metrics)."""
    folder = Path(folder)
    arrays = {}
    for name, head in heads.items():
        arrays |= {f"{name}_dense": head.dense_weight, f"{name}_sparse": head.sparse_weight, f"{name}_bias": head.bias}
    np.savez_compressed(folder / WEIGHTS_FILE, **arrays)
    labels = {f"{name}_labels": head.labels for name, head in heads.items()}
    (folder / CONFIG_FILE).write_text(json.dumps({**config, **labels}, indent=2, ensure_ascii=False), encoding="utf-8")


def read_router_config(folder: Path) -> dict:
    """The router folder's config; ModelMissing when the folder is incomplete or its config unreadable."""
    path = Path(folder) / CONFIG_FILE
    if not path.is_file() or not (Path(folder) / WEIGHTS_FILE).is_file():
        raise ModelMissing(f"{folder} is not a router folder (expected {CONFIG_FILE} and {WEIGHTS_FILE}): "
                           "run `assistant train router`")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelMissing(f"{path} is damaged ({exc}): run `assistant train router`") from exc


class Router:
    """Reads a (masked) customer message.

    Args:
        folder: a router folder written by `finetune.router.train_router`, or a classifier folder
            written by `finetune.classifier.train_classifier` (with intent and sentiment heads).
        embedder: the embedder the linear heads were trained on (checked against `router.json`).
        order_id_pattern: the shop's order-id regular expression, for entity extraction.
        products: the shop's catalog (name -> aliases), for product mentions.
        min_confidence: below this intent probability the linear heads flag the message out of scope.
        int8: run a fine-tuned classifier's encoder quantised to int8.

    Example:
        >>> route = Router(folder, embedder, order_id_pattern=r"MM\\d{8}").route("where is MM20261104?")
        >>> route.intent, route.entities[0].value
        ('order_status', 'MM20261104')
    """

    def __init__(self, folder: Path, embedder: Embedder, *, order_id_pattern: str, min_confidence: float = 0.3,
                 int8: bool = False, products: dict[str, tuple[str, ...]] | None = None):
        self.folder = Path(folder)
        self.int8 = int8
        self._classifier: TextClassifier | None = None
        self.embedder = embedder
        self.order_id_pattern = order_id_pattern
        self.products = products or {}
        self.min_confidence = min_confidence
        self._heads: dict[str, LinearHead] | None = None
        self._config: dict = {}
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the heads (done on the first `route` otherwise)."""
        with self._lock:
            if self._heads is not None or self._classifier is not None:
                return
            if (self.folder / CLASSIFIER_CONFIG).is_file():
                classifier = TextClassifier(self.folder, int8=self.int8)
                missing = {"intent", "sentiment"} - set(classifier.config["heads"])
                if missing:
                    raise ModelMissing(f"the classifier in {self.folder} has no {' or '.join(sorted(missing))} head: "
                                       "train one on the shop's labelled messages with `assistant train classifier`")
                self._classifier, self._config = classifier, classifier.config
                return
            config = read_router_config(self.folder)
            if config.get("embedder") != self.embedder.name:
                raise ModelMissing(f"the router in {self.folder} was trained on embedder {config.get('embedder')!r}, "
                                   f"the settings say {self.embedder.name!r}: run `assistant train router`")
            with np.load(self.folder / WEIGHTS_FILE) as weights:
                self._heads = {name: LinearHead(config[f"{name}_labels"], weights[f"{name}_dense"],
                                                weights[f"{name}_sparse"], weights[f"{name}_bias"]) for name in HEADS}
            self._config = config

    @property
    def config(self) -> dict:
        self.warm_up()
        return self._config

    def sentiments(self, texts: list[str], batch_size: int = 64) -> list[Reading]:
        """The sentiment head's reading of each text, in batches (the review analysis without a review model)."""
        self.warm_up()
        out: list[Reading] = []
        for start in range(0, len(texts), batch_size):
            batch = texts[start:start + batch_size]
            if self._classifier is not None:
                predictions = self._classifier.predict(batch)
                out += readings(predictions.labels["sentiment"], predictions.probs["sentiment"])
            else:
                dense, ngrams = router_features(batch, self.embedder, self._config["n_features"])
                head = self._heads["sentiment"]
                out += readings(head.labels, head.probabilities(dense, ngrams))
        return out

    def route(self, text: str) -> Route:
        """Intent with confidence, out-of-scope flag, sentiment with score, entities, language."""
        self.warm_up()
        if self._classifier is not None:
            predictions = self._classifier.predict([text])
            intents, sentiments = predictions.labels["intent"], predictions.labels["sentiment"]
            intent_p, sentiment_p = predictions.probs["intent"][0], predictions.probs["sentiment"][0]
            out_of_scope = bool(predictions.out_of_scope[0])
        else:
            dense, ngrams = router_features([text], self.embedder, self._config["n_features"])
            intent_p = self._heads["intent"].probabilities(dense, ngrams)[0]
            sentiment_p = self._heads["sentiment"].probabilities(dense, ngrams)[0]
            intents, sentiments = self._heads["intent"].labels, self._heads["sentiment"].labels
            out_of_scope = float(intent_p.max()) < self.min_confidence
        best, mood = int(intent_p.argmax()), int(sentiment_p.argmax())
        negative = float(sentiment_p[sentiments.index("negative")]) if "negative" in sentiments else 0.0
        return Route(
            intent=intents[best],
            intent_confidence=float(intent_p[best]),
            out_of_scope=out_of_scope or intents[best] == "out_of_scope",
            sentiment=sentiments[mood],
            sentiment_score=float(sentiment_p[mood]),
            negative_score=negative,
            entities=extract_entities(text, self.order_id_pattern, self.products),
            lang=detect_language(text),
            intent_ranking=tuple((intents[i], float(intent_p[i])) for i in np.argsort(-intent_p)[:5]),
        )
