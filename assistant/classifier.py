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

from assistant.errors import ModelMissing
from retrieval.lexical import hashed_tfidf

FORMAT = "shop-assistant-classifier/1"
CONFIG_FILE = "classifier.json"
ENCODER_FILE = "encoder.safetensors"
HEADS_FILE = "heads.safetensors"
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
OOS_LABELS = ("oos", "out_of_scope")


def text_prefix(encoder_path: Path) -> str:
    """The query prompt a sentence-transformers folder asks for (E5's "query: "), else ""."""
    config = Path(encoder_path) / "config_sentence_transformers.json"
    if config.is_file():
        return (json.loads(config.read_text(encoding="utf-8")).get("prompts") or {}).get("query", "") or ""
    return ""


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def combine(model_logits: np.ndarray, lexical_logits: np.ndarray | None, lexical_weight: float,
            temperature: float) -> np.ndarray:
    """Calibrated probabilities: (log p_model + w * log p_lexical) / T, renormalised."""
    z = log_softmax(model_logits)
    if lexical_logits is not None and lexical_weight:
        z = z + lexical_weight * log_softmax(lexical_logits)
    return np.exp(log_softmax(z / temperature))


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


def load_encoder(path: Path):
    """(tokenizer, encoder) of a Hugging Face encoder folder, quietly (a BERT without pooler weights warns)."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if not (Path(path) / "config.json").is_file():
        raise ModelMissing(f"no Hugging Face encoder in {path} (expected config.json)")
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # a bar per load is noise in a log; training has its own bars
    try:
        return (AutoTokenizer.from_pretrained(str(path), local_files_only=True),
                AutoModel.from_pretrained(str(path), local_files_only=True, add_pooling_layer=False))
    except TypeError:  # encoders without a pooler take no add_pooling_layer
        return (AutoTokenizer.from_pretrained(str(path), local_files_only=True),
                AutoModel.from_pretrained(str(path), local_files_only=True))
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def build_model(encoder, head_sizes: dict[str, int], dropout: float = 0.1):
    """The encoder with mean pooling, unit-length sentence vectors and one linear head per task."""
    import torch
    from torch import nn

    class EncoderWithHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(dropout)
            width = encoder.config.hidden_size
            self.heads = nn.ModuleDict({name: nn.Linear(width, n) for name, n in head_sizes.items()})

        def pooled(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return nn.functional.normalize(mean.float(), dim=-1)

        def forward(self, input_ids, attention_mask):
            pooled = self.pooled(input_ids, attention_mask)
            return pooled, {name: head(self.dropout(pooled)) for name, head in self.heads.items()}

    torch.manual_seed(0)  # head init is overwritten by the warm start; fixed anyway
    return EncoderWithHeads()


def tokenize(tokenizer, texts: list[str], prefix: str, max_length: int) -> list[list[int]]:
    return tokenizer([prefix + t for t in texts], truncation=True, max_length=max_length)["input_ids"]


def collate(rows: list[list[int]], pad_id: int):
    """Padded (input_ids, attention_mask) tensors of one batch."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, :len(r)] = 1
    return ids, mask


def run_model(model, token_ids: list[list[int]], pad_id: int, *, batch_size: int = 64, bf16: bool = False,
              progress: bool = False, desc: str = "classifying") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sentence vectors and head logits of every text, in length-sorted batches, without gradients."""
    import torch
    from tqdm.auto import tqdm

    order = np.argsort([len(r) for r in token_ids], kind="stable")
    pooled_parts, logit_parts = [], {name: [] for name in model.heads}
    was_training = model.training
    model.eval()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for start in tqdm(range(0, len(order), batch_size), desc=desc, disable=not progress, leave=False):
            ids, mask = collate([token_ids[i] for i in order[start:start + batch_size]], pad_id)
            pooled, logits = model(ids, mask)
            pooled_parts.append(pooled.float().numpy())
            for name, value in logits.items():
                logit_parts[name].append(value.float().numpy())
    model.train(was_training)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    pooled = np.concatenate(pooled_parts)[inverse] if pooled_parts else np.zeros((0, 0), np.float32)
    return pooled, {name: np.concatenate(parts)[inverse] for name, parts in logit_parts.items() if parts}


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


class TextClassifier:
    """Intent and sentiment of texts, with calibrated probabilities and an out-of-scope flag.

    Args:
        folder: a classifier folder written by `finetune.classifier.train_classifier`.
        int8: quantise the encoder's linear layers to int8 (dynamic quantisation) for faster CPU inference.
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

    def warm_up(self) -> None:
        """Load the encoder and heads (done on the first `predict` otherwise)."""
        with self._lock:
            if self._model is None:
                self._load()

    def _load(self) -> None:
        import torch
        from safetensors.torch import load_file

        config = read_classifier_config(self.folder)
        if config.get("members"):
            members = [TextClassifier(self.folder / name, int8=self.int8, batch_size=self.batch_size)
                       for name in config["members"]]
            for member in members:
                member.warm_up()
                if any(member.config["heads"][h]["labels"] != config["heads"][h]["labels"] for h in config["heads"]):
                    raise ModelMissing(f"the members of the ensemble in {self.folder} disagree on their labels: "
                                       "run `assistant train classifier`")
            self._config, self._model = config, members
            return
        base = Path(config["base_encoder"])
        if not base.is_dir():
            raise ModelMissing(f"the classifier in {self.folder} was tuned from the encoder in {base}, which is gone: "
                               "restore it or run `assistant train classifier`")
        tokenizer, encoder = load_encoder(base)
        heads = config["heads"]
        model = build_model(encoder, {name: len(h["labels"]) for name, h in heads.items()})
        tuned = load_file(str(self.folder / ENCODER_FILE))
        missing, unexpected = encoder.load_state_dict(tuned, strict=False)
        if unexpected or set(missing) - {WORD_EMBEDDINGS, "embeddings.position_ids"}:
            raise ModelMissing(f"{self.folder / ENCODER_FILE} does not fit the encoder in {base} "
                               f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}): "
                               "run `assistant train classifier`")
        arrays = load_file(str(self.folder / HEADS_FILE))
        for name, head in model.heads.items():
            head.weight.data = arrays[f"{name}.weight"].float()
            head.bias.data = arrays[f"{name}.bias"].float()
        model.eval()
        if self.int8:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        self._arrays = {k: v.float().numpy() for k, v in arrays.items()}
        self._tokenizer, self._config = tokenizer, config
        self._model = model

    @property
    def config(self) -> dict:
        self.warm_up()
        return self._config

    def labels(self, head: str) -> list[str]:
        return self.config["heads"][head]["labels"]

    def predict(self, texts: list[str], *, progress: bool = False) -> Predictions:
        """Calibrated probabilities per head and the out-of-scope flag of each text."""
        self.warm_up()
        config = self._config
        if config.get("members"):
            return self._predict_ensemble(texts, progress)
        ids = tokenize(self._tokenizer, list(texts), config["prefix"], config["max_length"])
        pooled, logits = run_model(self._model, ids, self._tokenizer.pad_token_id, batch_size=self.batch_size,
                                   progress=progress)
        ngrams = (hashed_tfidf(list(texts), config["n_features"], self._arrays["lexical_idf"])
                  if "lexical_idf" in self._arrays else None)
        probs = {}
        for name, head in config["heads"].items():
            lexical = None
            if ngrams is not None and f"{name}.lexical_weight" in self._arrays:
                lexical = np.asarray(ngrams @ self._arrays[f"{name}.lexical_weight"].T) + self._arrays[f"{name}.lexical_bias"]
            probs[name] = combine(logits[name], lexical, head["lexical_weight"], head["temperature"])
        return Predictions({name: h["labels"] for name, h in config["heads"].items()}, probs,
                           self._out_of_scope(probs, pooled))

    def _predict_ensemble(self, texts: list[str], progress: bool) -> Predictions:
        """The members' calibrated probabilities averaged; out of scope where most members say so."""
        each = [member.predict(texts, progress=progress) for member in self._model]
        probs = {h: np.mean([p.probs[h] for p in each], axis=0) for h in self._config["heads"]}
        flags = np.mean([p.out_of_scope for p in each], axis=0) > 0.5
        return Predictions(each[0].labels, probs, flags)

    def _out_of_scope(self, probs: dict[str, np.ndarray], pooled: np.ndarray) -> np.ndarray:
        rule = self._config.get("oos") or {}
        if "intent" not in probs:
            return np.zeros(len(pooled), dtype=bool)
        labels = self._config["heads"]["intent"]["labels"]
        flagged = np.array([labels[i] in OOS_LABELS for i in probs["intent"].argmax(axis=1)], dtype=bool)
        if rule.get("method") in ("msp", "mahalanobis"):
            flagged |= oos_scores(rule["method"], probs["intent"], pooled, self._arrays) > rule["threshold"]
        return flagged
