"""A Hugging Face seq2seq folder (T5, mT5, BART, or the encoder-decoder `assistant train drafter` builds)
turned into text generation: inputs in, drafts out, with the decoding settings of the assistant.

Loaded on first use, once per (folder, device), so the chat, the API and the drafter service share it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import DrafterUnavailable, ModelMissing


@dataclass(frozen=True)
class Decoding:
    """How drafts are decoded."""

    num_beams: int = 1            # 1 = greedy
    max_new_tokens: int = 96      # a reply is a few sentences
    max_input_tokens: int = 256   # question + intent + sentiment + the retrieved answers (as trained)
    time_limit: float = 2.0       # seconds one generate call may take before it stops where it is

    def __post_init__(self):
        if self.num_beams < 1 or self.max_new_tokens < 1 or self.max_input_tokens < 8 or self.time_limit <= 0:
            raise ValueError(f"invalid decoding settings: {self}")


# (folder, device) -> (tokenizer, model, lock): one copy of each model, one generate at a time on it.
_CACHE: dict[tuple[str, str], tuple[object, object, threading.Lock]] = {}
_CACHE_LOCK = threading.Lock()


class Seq2SeqGenerator:
    """Drafts from a seq2seq folder.

    Example:
        >>> generator = Seq2SeqGenerator(Path("home/models/drafter/v0001"), Decoding(num_beams=2))
        >>> generator.generate(["question: where is my order | intent: order_status | answer 1: ..."])
        ['Your order left our warehouse ...']
    """

    def __init__(self, folder: Path, decoding: Decoding = Decoding(), device: str = "cpu"):
        self.folder, self.decoding, self.device = Path(folder), decoding, device
        self.name = self.folder.name

    def warm_up(self) -> None:
        self._model()

    def _model(self):
        key = (str(self.folder.resolve()), self.device)
        with _CACHE_LOCK:
            if key not in _CACHE:
                _CACHE[key] = (*_load(self.folder, self.device), threading.Lock())
            return _CACHE[key]

    def generate(self, inputs: list[str]) -> list[str | None]:
        """One draft per input, decoded together as one batch; None for a draft the time or length limit
        cut off before the model ended it (half a sentence is no reply)."""
        if not inputs:
            return []
        import torch

        tokenizer, model, lock = self._model()
        # Never more input than the encoder has positions for (a small model may have fewer than the setting).
        positions = getattr(getattr(model.config, "encoder", model.config), "max_position_embeddings", None)
        batch = tokenizer(inputs, return_tensors="pt", padding=True, truncation=True,
                          max_length=min(self.decoding.max_input_tokens, positions or self.decoding.max_input_tokens)
                          ).to(self.device)
        # Requests in this process take turns on the one model; none waits longer than a draft may take.
        if not lock.acquire(timeout=self.decoding.time_limit):
            raise DrafterUnavailable(f"the drafter is busy with other replies (waited {self.decoding.time_limit:g} s)")
        try:
            with torch.inference_mode():
                output = model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                        num_beams=self.decoding.num_beams, max_new_tokens=self.decoding.max_new_tokens,
                                        max_time=self.decoding.time_limit, do_sample=False,
                                        **({"early_stopping": True} if self.decoding.num_beams > 1 else {}))
        finally:
            lock.release()
        eos = model.generation_config.eos_token_id
        eos = set(eos if isinstance(eos, list) else [eos])
        # Decoder-only positions after the start token; a finished draft has an end-of-sequence token.
        finished = [bool(eos & set(row[1:].tolist())) for row in output]
        texts = tokenizer.batch_decode(output, skip_special_tokens=True)
        return [" ".join(text.split()) if done else None for text, done in zip(texts, finished)]


def _load(folder: Path, device: str):
    if not (folder / "config.json").is_file():
        raise ModelMissing(f"{folder} is not a seq2seq model folder (no config.json): train one with "
                           "`assistant train drafter --out DIR`, or name a T5/mT5/BART folder in ASSISTANT_DRAFTER_MODEL")
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        model = AutoModelForSeq2SeqLM.from_pretrained(folder, local_files_only=True, dtype=dtype)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelMissing(f"the seq2seq folder {folder} cannot be loaded ({exc.__class__.__name__}: {exc}): "
                           "retrain it or point ASSISTANT_DRAFTER_MODEL at a complete folder") from exc
    return tokenizer, model.to(device).eval()
