"""The fine-tuned classifier: one encoder, a linear head per task (intent, sentiment), an out-of-scope rule.

A classifier folder (written by `finetune.classifier.train_classifier`) holds:
- `classifier.json`: the base encoder it was tuned from, the text prefix, the truncation length, per
  head its labels, temperature and lexical weight, the out-of-scope rule, training arguments, data hash
  and metrics;
- `encoder.safetensors`: the encoder weights that differ from the base encoder (all but a frozen
  word-embedding matrix, so a tuned multilingual encoder costs ~90 MB instead of ~470 MB);
- `heads.safetensors`: the heads, the character n-gram heads and the out-of-scope statistics.

Inference truncates each text at the `max_length` tokens it was trained with (64 by default; a
customer message rarely reaches it) and runs in length-sorted batches.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.classifier_model import WORD_EMBEDDINGS, fingerprint, load_encoder, build_model, run_model, tokenize
from assistant.errors import ModelMissing
from retrieval.lexical import hashed_tfidf

FORMAT = "shop-assistant-classifier/2"
CONFIG_FILE = "classifier.json"
ENCODER_FILE = "encoder.safetensors"
HEADS_FILE = "heads.safetensors"
# Labels that mean "none of the shop's intents": CLINC150 uses `oos`, the sample shop `out_of_scope`.
OOS_LABELS = ("oos", "out_of_scope")


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable log-probabilities over the last axis."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def joined_logits(model_logits: np.ndarray, lexical_logits: np.ndarray | None, lexical_weight: float) -> np.ndarray:
    """log p_model + w * log p_lexical: the scores temperature scaling calibrates."""
    z = log_softmax(model_logits)
    if lexical_logits is not None and lexical_weight:
        z = z + lexical_weight * log_softmax(lexical_logits)
    return z


def combine(model_logits: np.ndarray, lexical_logits: np.ndarray | None, lexical_weight: float,
            temperature: float) -> np.ndarray:
    """Calibrated probabilities: (log p_model + w * log p_lexical) / T, renormalised."""
    return np.exp(log_softmax(joined_logits(model_logits, lexical_logits, lexical_weight) / temperature))


def mahalanobis(pooled: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Each row's smallest Mahalanobis distance (shared covariance) to a class mean."""
    xp = pooled @ precision
    distances = (xp * pooled).sum(1)[:, None] - 2 * xp @ means.T + ((means @ precision) * means).sum(1)[None, :]
    return distances.min(axis=1)


def oos_scores(method: str, probs: np.ndarray, pooled: np.ndarray, stats: dict[str, np.ndarray]) -> np.ndarray:
    """Higher means further out of scope: minus the top probability ("msp"), or the Mahalanobis distance."""
    if method == "mahalanobis":
        return mahalanobis(pooled, stats["oos_means"], stats["oos_precision"])
    return -probs.max(axis=1)


@dataclass(frozen=True)
class Predictions:
    """Per head the labels and each text's calibrated probabilities; the intent head's out-of-scope flags."""

    labels: dict[str, list[str]]
    probs: dict[str, np.ndarray]
    out_of_scope: np.ndarray

    def predicted(self, head: str, oos_label: str = "oos") -> list[str]:
        """Each text's label; for the intent head `oos_label` where the text was flagged out of scope."""
        names = self.labels[head]
        best = [names[i] for i in self.probs[head].argmax(axis=1)]
        if head != "intent":
            return best
        return [oos_label if flag else label for label, flag in zip(best, self.out_of_scope)]


def read_classifier_config(folder: Path) -> dict:
    """The folder's config; ModelMissing (saying what to run) when it is not a complete classifier folder.

    An ensemble's folder holds only `classifier.json`, whose `members` name the member folders inside it.
    """
    folder = Path(folder)
    try:
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        config = {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelMissing(f"{folder / CONFIG_FILE} is damaged ({exc}): run `assistant train classifier`") from exc
    needed = (CONFIG_FILE,) if config.get("members") else (CONFIG_FILE, ENCODER_FILE, HEADS_FILE)
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise ModelMissing(f"{folder} is not a classifier folder ({', '.join(missing)} missing): "
                           "run `assistant train classifier`")
    if config.get("format") != FORMAT:
        raise ModelMissing(f"{folder} holds format {config.get('format')!r}, this version reads {FORMAT!r}: "
                           "run `assistant train classifier`")
    return config


def out_of_scope_flags(rule: dict, labels: list[str], probs: np.ndarray, pooled: np.ndarray | None,
                       stats: dict[str, np.ndarray]) -> np.ndarray:
    """Which rows are out of scope: predicted as an out-of-scope class, or past the rule's threshold."""
    flagged = np.array([labels[i] in OOS_LABELS for i in probs.argmax(axis=1)], dtype=bool).reshape(len(probs))
    if rule.get("method") in ("msp", "mahalanobis"):
        flagged |= oos_scores(rule["method"], probs, pooled, stats) > rule["threshold"]
    return flagged


class TextClassifier:
    """Intent and sentiment of texts, with calibrated probabilities and an out-of-scope flag.

    Safe to share between threads (the web server's request handlers): tokenising is serialised, the
    forward pass is not.

    Args:
        folder: a classifier folder written by `finetune.classifier.train_classifier`.
        int8: quantise the encoder's linear layers to int8 (dynamic quantisation) for faster CPU inference;
            the heads stay in float32, as they were calibrated.
        batch_size: texts per forward pass.

    Example:
        >>> predictions = TextClassifier(folder).predict(["where is my parcel?"])
        >>> predictions.predicted("intent"), predictions.out_of_scope
        (['order_status'], array([False]))
    """

    def __init__(self, folder: Path, *, int8: bool = False, batch_size: int = 64):
        self.folder = Path(folder)
        self.int8 = int8
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        # A fast tokenizer's truncation settings are state it changes on every call: one call at a time.
        self._tokenize_lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the encoder and heads (done on the first `predict` otherwise)."""
        with self._lock:
            if self._model is None:
                self._load()

    def _load(self) -> None:
        config = read_classifier_config(self.folder)
        if config.get("members"):
            members = [TextClassifier(self.folder / name, int8=self.int8, batch_size=self.batch_size)
                       for name in config["members"]]
            for member in members:
                member.warm_up()
                if any(member.config["heads"][h]["labels"] != config["heads"][h]["labels"] for h in config["heads"]):
                    raise ModelMissing(f"the members of the ensemble in {self.folder} disagree on their labels: "
                                       "retrain it with `assistant train classifier`")
            self._config, self._arrays, self._model = config, {}, members
            return
        self._load_single(config)

    def _load_single(self, config: dict) -> None:
        import torch
        from safetensors.torch import load_file

        base = Path(config["base_encoder"])
        if not base.is_dir():
            raise ModelMissing(f"the classifier in {self.folder} was tuned from the encoder in {base}, which is gone: "
                               "restore it or run `assistant train classifier`")
        tokenizer, encoder = load_encoder(base)
        if fingerprint(encoder) != config.get("base_fingerprint"):
            raise ModelMissing(f"the encoder in {base} is not the one the classifier in {self.folder} was tuned from "
                               "(its word embeddings differ): run `assistant train classifier`")
        heads = config["heads"]
        model = build_model(encoder, {name: len(h["labels"]) for name, h in heads.items()})
        try:
            missing, unexpected = encoder.load_state_dict(load_file(str(self.folder / ENCODER_FILE)), strict=False)
        except RuntimeError as exc:  # shapes that do not fit
            raise ModelMissing(f"{self.folder / ENCODER_FILE} does not fit the encoder in {base}: "
                               "run `assistant train classifier`") from exc
        if unexpected or set(missing) - {WORD_EMBEDDINGS, "embeddings.position_ids"}:
            raise ModelMissing(f"{self.folder / ENCODER_FILE} does not fit the encoder in {base} "
                               f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}): "
                               "run `assistant train classifier`")
        arrays = {k: v.float().numpy() for k, v in load_file(str(self.folder / HEADS_FILE)).items()}
        for name, head in model.heads.items():
            head.weight.data = torch.from_numpy(arrays[f"{name}.weight"])
            head.bias.data = torch.from_numpy(arrays[f"{name}.bias"])
            if head_config_uses_lexical(heads[name]) and not {f"{name}.lexical_weight", "lexical_idf"} <= set(arrays):
                raise ModelMissing(f"{self.folder / HEADS_FILE} lacks the {name} n-gram head its config weighs in: "
                                   "run `assistant train classifier`")
        model.eval()
        if self.int8:
            model.encoder = torch.ao.quantization.quantize_dynamic(model.encoder, {torch.nn.Linear}, dtype=torch.qint8)
        self._arrays, self._tokenizer, self._config = arrays, tokenizer, config
        self._model = model

    @property
    def config(self) -> dict:
        """The folder's `classifier.json` (loading the model on first use)."""
        self.warm_up()
        return self._config

    def labels(self, head: str) -> list[str]:
        """The labels of one head, in the order of its probability columns."""
        return self.config["heads"][head]["labels"]

    def predict(self, texts: list[str], *, progress: bool = False) -> Predictions:
        """Calibrated probabilities per head and the out-of-scope flag of each text."""
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts, not one string")
        self.warm_up()
        texts = list(texts)
        config = self._config
        heads = config["heads"]
        if not texts:
            return Predictions({h: v["labels"] for h, v in heads.items()},
                               {h: np.zeros((0, len(v["labels"])), np.float32) for h, v in heads.items()},
                               np.zeros(0, dtype=bool))
        if config.get("members"):
            each = [member.predict(texts, progress=progress) for member in self._model]
            probs = {h: np.mean([p.probs[h] for p in each], axis=0) for h in heads}
            if config.get("oos", {}).get("method") == "msp":  # chosen on the averaged probabilities
                flags = out_of_scope_flags(config["oos"], heads["intent"]["labels"], probs["intent"], None, {})
            else:  # members calibrated on their own dev splits: most of them must agree
                flags = np.mean([p.out_of_scope for p in each], axis=0) > 0.5
            return Predictions(each[0].labels, probs, flags)
        with self._tokenize_lock:
            ids = tokenize(self._tokenizer, texts, config["prefix"], config["max_length"])
        pooled, logits = run_model(self._model, ids, self._tokenizer.pad_token_id, batch_size=self.batch_size,
                                   progress=progress)
        ngrams = (hashed_tfidf(texts, config["n_features"], self._arrays["lexical_idf"])
                  if "lexical_idf" in self._arrays else None)
        probs = {}
        for name, head in heads.items():
            lexical = None
            if ngrams is not None and head_config_uses_lexical(head):
                lexical = np.asarray(ngrams @ self._arrays[f"{name}.lexical_weight"].T) + self._arrays[f"{name}.lexical_bias"]
            probs[name] = combine(logits[name], lexical, head["lexical_weight"], head["temperature"])
        flags = (out_of_scope_flags(config.get("oos") or {}, heads["intent"]["labels"], probs["intent"], pooled,
                                    self._arrays) if "intent" in probs else np.zeros(len(texts), dtype=bool))
        return Predictions({name: h["labels"] for name, h in heads.items()}, probs, flags)


def head_config_uses_lexical(head: dict) -> bool:
    return bool(head.get("lexical_weight"))
