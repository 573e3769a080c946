"""The encoder side of the classifier, shared by training and inference: loading a Hugging Face encoder,
mean-pooled unit-length sentence vectors with one linear head per task, and batched forward passes.

Texts are truncated at `max_length` tokens and run in length-sorted batches, so a batch pads little.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from assistant.errors import ModelMissing

WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


def text_prefix(encoder_path: Path) -> str:
    """The query prompt a sentence-transformers folder asks for (E5's "query: "), else ""."""
    config = Path(encoder_path) / "config_sentence_transformers.json"
    if config.is_file():
        return (json.loads(config.read_text(encoding="utf-8")).get("prompts") or {}).get("query", "") or ""
    return ""


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

    return EncoderWithHeads()


def tokenize(tokenizer, texts: list[str], prefix: str, max_length: int) -> list[list[int]]:
    """Token ids of each text (with the encoder's query prefix), truncated at `max_length`."""
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


def fingerprint(encoder) -> str:
    """A short hash of an encoder's vocabulary size and first word-embedding rows: which base it is."""
    weight = encoder.get_input_embeddings().weight
    digest = hashlib.sha256(str(tuple(weight.shape)).encode())
    digest.update(weight[:256].detach().float().numpy().tobytes())
    return digest.hexdigest()[:16]
