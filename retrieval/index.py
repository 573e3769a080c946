"""A FAISS index over unit-length vectors, with integer ids so entries can be added and removed.

The core is `search_vectors`, a pure function over arrays; `FaissIndex` adds the folder it is saved
in and the `meta.json` that says how its vectors were made, so a mismatch is refused on load.
"""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np

from retrieval.errors import IndexMismatchError
from retrieval.files import atomic_folder

INDEX_FILE = "index.faiss"
META_FILE = "meta.json"


def exact_index(vectors: np.ndarray, ids: np.ndarray) -> faiss.Index:
    """An exact inner-product index (cosine on unit vectors) mapping rows to the given int64 ids."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
    if len(vectors):
        index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))
    return index


def search_vectors(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) per query row; missing neighbours have id -1 and score -inf."""
    queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    k = max(1, min(k, index.ntotal)) if index.ntotal else 1
    if index.ntotal == 0:
        return (np.full((len(queries), 1), -np.inf, dtype=np.float32), np.full((len(queries), 1), -1, dtype=np.int64))
    scores, ids = index.search(queries, k)
    scores[ids < 0] = -np.inf
    return scores, ids


class FaissIndex:
    """Vectors and their ids, searchable, saved as a folder with `index.faiss` and `meta.json`.

    Example:
        >>> index = FaissIndex.build(vectors, ids, meta={"embedder": "all-MiniLM-L6-v2"})
        >>> scores, ids = index.search(query_vectors, k=5)
        >>> index.save(Path("home/models/index/v1"))
    """

    def __init__(self, index: faiss.Index, meta: dict):
        self._index = index
        self.meta = dict(meta)

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, meta: dict) -> "FaissIndex":
        meta = {**meta, "dimension": int(vectors.shape[1]), "normalized": True, "index_type": "flat_ip",
                "count": int(len(vectors))}
        return cls(exact_index(vectors, ids), meta)

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) for each query vector."""
        return search_vectors(self._index, queries, k)

    def save(self, folder: Path) -> None:
        """Write the folder atomically: a reader sees the old folder or the new one, never half."""
        with atomic_folder(folder) as tmp:
            faiss.write_index(self._index, str(tmp / INDEX_FILE))
            (tmp / META_FILE).write_text(json.dumps({**self.meta, "count": self.count}, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, expect: dict | None = None) -> "FaissIndex":
        """Open a saved index; refuse it when a `meta.json` value differs from `expect`."""
        folder = Path(folder)
        if not (folder / INDEX_FILE).is_file() or not (folder / META_FILE).is_file():
            raise IndexMismatchError(f"no index in {folder} (expected {INDEX_FILE} and {META_FILE}): "
                                     "run `assistant index build`")
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        for key, wanted in (expect or {}).items():
            if meta.get(key) != wanted:
                raise IndexMismatchError(f"the index in {folder} was built with {key}={meta.get(key)!r}, "
                                         f"the settings say {wanted!r}: run `assistant index build`")
        index = faiss.read_index(str(folder / INDEX_FILE))
        if index.ntotal != meta.get("count"):
            raise IndexMismatchError(f"the index in {folder} holds {index.ntotal} vectors, its meta.json says "
                                     f"{meta.get('count')}: run `assistant index build`")
        return cls(index, meta)
