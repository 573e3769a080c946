"""A FAISS index over unit-length vectors: exact for a shop, approximate for a marketplace.

The core is three pure functions over arrays (`choose_index_type`, `new_index`, `search_vectors`);
`FaissIndex` adds integer ids that survive additions, updates and removals, and the folder it is
saved in with the `meta.json` that says how its vectors were made, so a mismatch is refused on load.

Index types (inner product on normalised vectors = cosine similarity):
    flat    exact; every query scans every vector. The default up to `IndexParams.exact_max` entries.
    hnsw    a navigable small-world graph over the full vectors: ~1.1x the flat index's memory,
            milliseconds at a million entries. The default above `exact_max`.
    ivfsq8  inverted lists of 8-bit scalar-quantised vectors: ~1/4 of the memory; recall as HNSW's at
            100k entries, clearly lower at 1M unless `nprobe` grows (see bench/README.md).
    ivfpq   inverted lists of product-quantised codes: ~1/25 of the memory, clearly lower recall.
    IVF indexes learn their lists from the vectors they are built with and are not retrained as
    entries are added: rebuild (`assistant index build`) after the index has grown several times.
            `auto` takes the first of hnsw, ivfsq8, ivfpq that fits `IndexParams.memory_mb`.
bench/index_scale.py measures all three against brute force; bench/README.md has the figures.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from retrieval.errors import IndexMismatchError
from retrieval.files import atomic_folder

INDEX_FILE = "index.faiss"
META_FILE = "meta.json"
# Ids removed from an HNSW graph (which cannot delete in place): skipped at search, dropped on compaction.
DELETED_FILE = "deleted.npy"
INDEX_TYPES = ("flat", "hnsw", "ivfsq8", "ivfpq")
# IVF indexes learn their lists (and PQ its codebooks) from the first vectors: fewer give noise.
IVF_MIN_TRAIN = 1_000
# An HNSW graph is rebuilt without its removed entries once they are this share of it.
COMPACT_SHARE = 0.2


@dataclass(frozen=True)
class IndexParams:
    """How an index is built and searched; every value is a setting (`ASSISTANT_INDEX_*`).

    Example:
        >>> IndexParams(kind="auto", exact_max=20_000).kind_for(1_000_000, 384)
        'hnsw'
    """

    # "auto", or one of INDEX_TYPES to force it.
    kind: str = "auto"
    # "auto" keeps exact search up to this many entries (one exact query over 20k takes ~1 ms here).
    exact_max: int = 20_000
    # "auto" picks ivfpq when an HNSW index would need more than this many MiB (0: no limit).
    memory_mb: int = 0
    # HNSW graph degree, and the candidate list sizes when building and searching.
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 256
    # IVF-PQ: bytes per vector (must divide the dimension), lists probed per query (lists = 4 * sqrt(n)).
    pq_bytes: int = 48
    nprobe: int = 64

    def __post_init__(self):
        if self.kind not in ("auto", *INDEX_TYPES):
            raise ValueError(f"index kind {self.kind!r} is not one of auto, {', '.join(INDEX_TYPES)}")
        for name in ("exact_max", "hnsw_m", "ef_construction", "ef_search", "pq_bytes", "nprobe"):
            if getattr(self, name) < 1:
                raise ValueError(f"index parameter {name} must be at least 1, got {getattr(self, name)}")
        if self.memory_mb < 0:
            raise ValueError(f"index memory_mb must be 0 (no limit) or positive, got {self.memory_mb}")

    def kind_for(self, count: int, dim: int) -> str:
        return choose_index_type(count, dim, self)


def estimate_bytes(kind: str, count: int, dim: int, params: IndexParams) -> int:
    """Approximate resident size of an index of `count` vectors (vectors, graph links or codes, ids)."""
    if kind == "flat":
        return count * (4 * dim + 8)
    if kind == "hnsw":
        # Level 0 holds 2M links per vector, upper levels add ~1/M of that again.
        return count * (4 * dim + 8 + 4 * 2 * params.hnsw_m + 4 * params.hnsw_m // max(1, params.hnsw_m - 1))
    if kind in ("ivfsq8", "ivfpq"):
        code = dim if kind == "ivfsq8" else params.pq_bytes
        return count * (code + 8) + ivf_lists(count) * 4 * dim
    raise ValueError(f"unknown index type {kind!r}")


def choose_index_type(count: int, dim: int, params: IndexParams) -> str:
    """The index type for `count` vectors: the forced one, else flat, hnsw, or ivfpq under a memory cap."""
    if params.kind != "auto":
        return params.kind
    if count <= params.exact_max:
        return "flat"
    if count < IVF_MIN_TRAIN:  # too few vectors to learn IVF lists from, whatever the memory cap
        return "hnsw"
    for kind in ("hnsw", "ivfsq8"):
        if not params.memory_mb or estimate_bytes(kind, count, dim, params) <= params.memory_mb * 2**20:
            return kind
    return "ivfpq"


def pq_codes(dim: int, wanted: int) -> int:
    """Sub-quantisers per vector: the largest divisor of `dim` not above `wanted` (PQ needs one)."""
    return max(d for d in range(1, min(dim, wanted) + 1) if dim % d == 0)


def ivf_lists(count: int) -> int:
    """Inverted lists for an IVF index of `count` vectors: 4 * sqrt(n), the FAISS guideline's low end."""
    return int(min(65536, max(1, 4 * math.sqrt(max(count, 1)))))


def new_index(kind: str, dim: int, params: IndexParams, train: np.ndarray | None = None) -> faiss.Index:
    """An empty index of `kind` that takes int64 ids; ivfpq is trained on `train` (its lists fit it)."""
    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if kind == "hnsw":
        graph = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = params.ef_construction
        graph.hnsw.efSearch = params.ef_search
        return faiss.IndexIDMap2(graph)
    if kind in ("ivfsq8", "ivfpq"):
        if train is None or len(train) < IVF_MIN_TRAIN:
            raise IndexMismatchError(f"an {kind} index learns its lists from the vectors it is built with and needs "
                                     f"at least {IVF_MIN_TRAIN:,} of them (got {0 if train is None else len(train):,}): "
                                     "use ASSISTANT_INDEX_TYPE=auto (exact search) for a smaller index")
        # Each list needs ~39 training points (FAISS warns below that); 64 per list is plenty, and k-means
        # over all of a million vectors would take many minutes here.
        lists = max(1, min(ivf_lists(len(train)), len(train) // 39))
        if len(train) > 64 * lists:
            train = train[np.random.default_rng(0).choice(len(train), 64 * lists, replace=False)]
        train = np.ascontiguousarray(train, dtype=np.float32)
        quantizer = faiss.IndexFlatIP(dim)
    if kind == "ivfsq8":
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, lists, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
        index.cp.min_points_per_centroid = 1
        index.train(train)
        index.nprobe = min(params.nprobe, lists)
        return index
    if kind == "ivfpq":
        # The 256 codes of each sub-quantiser need as many training points; fewer bits for less data.
        bits = 8 if len(train) >= 256 * 39 else max(1, int(math.log2(max(2, len(train) // 39))))
        index = faiss.IndexIVFPQ(quantizer, dim, lists, pq_codes(dim, params.pq_bytes), bits, faiss.METRIC_INNER_PRODUCT)
        index.cp.min_points_per_centroid = 1
        index.train(train)
        index.nprobe = min(params.nprobe, lists)
        return index
    raise ValueError(f"unknown index type {kind!r}: expected one of {', '.join(INDEX_TYPES)}")


def id_selector(ids: np.ndarray, *, exclude: bool) -> tuple:
    """A FAISS selector of `ids` (or of every id but them); keep the whole tuple alive while it is used."""
    batch = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
    return (faiss.IDSelectorNot(batch), batch) if exclude else (batch,)


def search_vectors(index: faiss.Index, queries: np.ndarray, k: int, *, selector: tuple | None = None,
                   live: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) per query row; missing neighbours have id -1 and score -inf.

    `selector` (from `id_selector`) limits the search to some ids (removed entries of an HNSW graph
    left out, or one language's entries); `live` is the number of vectors that can be found.
    """
    queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    live = index.ntotal if live is None else live
    if live <= 0:
        return (np.full((len(queries), 1), -np.inf, dtype=np.float32), np.full((len(queries), 1), -1, dtype=np.int64))
    k = max(1, min(k, live))
    params = None
    if selector is not None:
        # A fresh parameter object per call: FAISS's IndexIDMap rewrites `sel` while it searches.
        inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index
        if isinstance(inner, faiss.IndexHNSW):
            params = faiss.SearchParametersHNSW(sel=selector[0], efSearch=max(inner.hnsw.efSearch, k))
        elif isinstance(inner, faiss.IndexIVF):
            params = faiss.SearchParametersIVF(sel=selector[0], nprobe=inner.nprobe)
        else:
            params = faiss.SearchParameters(sel=selector[0])
    scores, ids = index.search(queries, k, params=params)
    scores[ids < 0] = -np.inf
    return scores, ids


def _index_kind(index: faiss.Index) -> str:
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index
    if isinstance(inner, faiss.IndexFlat):
        return "flat"
    if isinstance(inner, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(inner, faiss.IndexIVFPQ):
        return "ivfpq"
    if isinstance(inner, faiss.IndexIVFScalarQuantizer):
        return "ivfsq8"
    raise IndexMismatchError(f"unsupported FAISS index {type(inner).__name__}: run `assistant index build`")


class FaissIndex:
    """Vectors and their int64 ids, searchable; add, update and remove without a full rebuild.

    Args:
        index: a FAISS index taking ids (see `new_index`).
        meta: what the vectors are (embedder, knowledge hash, ...); saved as `meta.json`.
        params: the build/search parameters, including when `auto` grows a flat index into a graph.
        deleted: ids removed from an HNSW graph but still in it.

    Example:
        >>> index = FaissIndex.build(vectors, ids, meta={"embedder": "all-MiniLM-L6-v2"})
        >>> index.remove([3]); index.add(new_vectors, [1001, 1002])
        >>> scores, ids = index.search(query_vectors, k=5)
        >>> index.save(Path("home/models/index/v1"))
    """

    def __init__(self, index: faiss.Index, meta: dict, params: IndexParams | None = None,
                 deleted: np.ndarray | None = None):
        self._index = index
        self.meta = dict(meta)
        self.params = params or IndexParams()
        self._deleted = set(int(i) for i in (deleted if deleted is not None else ()))
        self._deleted_array: np.ndarray | None = None
        self._deleted_selector: tuple | None = None

    @classmethod
    def build(cls, vectors: np.ndarray, ids, meta: dict, params: IndexParams | None = None) -> "FaissIndex":
        """An index of the type `params` choose for these vectors, holding them under `ids`."""
        params = params or IndexParams()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = int(vectors.shape[1])
        kind = params.kind_for(len(vectors), dim)
        index = cls(new_index(kind, dim, params, train=vectors if kind.startswith("ivf") else None),
                    {**meta, "dimension": dim, "normalized": True}, params)
        index.add(vectors, ids)
        return index

    @property
    def kind(self) -> str:
        return _index_kind(self._index)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    @property
    def count(self) -> int:
        """Live entries (removed ones not counted)."""
        return int(self._index.ntotal) - len(self._deleted)

    def add(self, vectors: np.ndarray, ids) -> None:
        """Add unit vectors under new ids; an `auto` flat index past `exact_max` becomes a graph first."""
        vectors = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        if len(vectors) != len(ids):
            raise ValueError(f"{len(vectors)} vectors but {len(ids)} ids")
        if len(vectors) == 0:
            return
        if vectors.shape[1] != self.dimension:
            raise IndexMismatchError(f"vectors of dimension {vectors.shape[1]} cannot join an index of "
                                     f"dimension {self.dimension}: run `assistant index build`")
        if len(np.unique(ids)) != len(ids):
            raise ValueError("the ids of one add must differ")
        if self._index.ntotal:
            used = faiss.vector_to_array(self._index.id_map) if isinstance(self._index, faiss.IndexIDMap2) else self.ids()
            taken = ids[np.isin(ids, used)]
            if len(taken):  # a removed id stays in an HNSW graph until compaction: never reuse one
                raise ValueError(f"ids already used in this index: {taken[:5].tolist()}")
        wanted = self.params.kind_for(self.count + len(vectors), self.dimension)
        if self.params.kind == "auto" and self.kind == "flat" and wanted != "flat":
            self._rebuild(wanted, extra=(vectors, ids))
            return
        self._index.add_with_ids(vectors, ids)

    def remove(self, ids) -> int:
        """Remove entries by id (unknown ids are ignored); returns how many were removed."""
        ids = np.unique(np.asarray(ids, dtype=np.int64).reshape(-1))
        if len(ids) == 0:
            return 0
        if self.kind == "hnsw":
            present = ids[np.isin(ids, faiss.vector_to_array(self._index.id_map))]
            present = [int(i) for i in present if int(i) not in self._deleted]
            self._deleted.update(present)
            self._deleted_array = self._deleted_selector = None
            if len(self._deleted) > COMPACT_SHARE * self._index.ntotal:
                self._rebuild("hnsw")
            return len(present)
        # IDSelectorArray: the one selector an IVF index with a hashtable direct map (see `vectors`) accepts.
        return int(self._index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids))))

    def ids(self) -> np.ndarray:
        """The ids of the live entries."""
        if isinstance(self._index, faiss.IndexIDMap2):
            ids = faiss.vector_to_array(self._index.id_map)
        else:
            invlists = self._index.invlists
            ids = np.concatenate([np.zeros(0, np.int64)] + [
                faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).astype(np.int64)
                for i in range(invlists.nlist) if invlists.list_size(i)])
        return ids[~np.isin(ids, self._excluded())] if self._deleted else ids

    def vectors(self, ids) -> np.ndarray:
        """The stored vectors of `ids` (exact for flat and HNSW, decoded for IVF: approximate)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if isinstance(self._index, faiss.IndexIDMap2) and not self._deleted and len(ids) == self._index.ntotal and \
                (faiss.vector_to_array(self._index.id_map) == ids).all():
            return self._index.index.reconstruct_n(0, self._index.ntotal)  # all of them, in order: one copy
        if not isinstance(self._index, faiss.IndexIDMap2) and self._index.direct_map.type != faiss.DirectMap.Hashtable:
            # A hashtable maps any ids (an array map needs 0..n-1) and still lets entries be added and removed.
            self._index.set_direct_map_type(faiss.DirectMap.Hashtable)
        return np.vstack([self._index.reconstruct(int(i)) for i in ids]) if len(ids) else \
            np.zeros((0, self.dimension), np.float32)

    def search(self, queries: np.ndarray, k: int, *, only: tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) for each query vector; `only` (an `id_selector` of live ids) limits it."""
        if only is None and self._deleted:
            if self._deleted_selector is None:
                self._deleted_selector = id_selector(self._excluded(), exclude=True)
            only = self._deleted_selector
        return search_vectors(self._index, queries, k, selector=only, live=self.count)

    def write(self, folder: Path) -> None:
        """Write the index files into an existing folder (see `save` for the atomic form)."""
        faiss.write_index(self._index, str(folder / INDEX_FILE))
        if self._deleted:
            np.save(folder / DELETED_FILE, self._excluded())
        meta = {**self.meta, "dimension": self.dimension, "normalized": True, "index_type": self.kind,
                "count": self.count, "params": asdict(self.params)}
        (folder / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")

    def save(self, folder: Path) -> None:
        """Write the folder atomically: a reader sees the old folder or the new one, never half."""
        with atomic_folder(folder) as tmp:
            self.write(tmp)

    @classmethod
    def load(cls, folder: Path, expect: dict | None = None, params: IndexParams | None = None) -> "FaissIndex":
        """Open a saved index; refuse it when a `meta.json` value differs from `expect`, or its type from
        a type `params` force."""
        folder = Path(folder)
        meta = read_meta(folder)
        for key, wanted in (expect or {}).items():
            if meta.get(key) != wanted:
                raise IndexMismatchError(f"the index in {folder} was built with {key}={meta.get(key)!r}, "
                                         f"the settings say {wanted!r}: run `assistant index build`")
        if params is not None and params.kind != "auto" and meta.get("index_type") != params.kind:
            raise IndexMismatchError(f"the index in {folder} is of type {meta.get('index_type')!r}, the settings "
                                     f"ask for {params.kind!r}: run `assistant index build`")
        try:
            index = faiss.read_index(str(folder / INDEX_FILE))
        except RuntimeError as exc:
            raise IndexMismatchError(f"{folder / INDEX_FILE} is not a readable FAISS index ({exc}): "
                                     "run `assistant index build`") from exc
        deleted = np.load(folder / DELETED_FILE) if (folder / DELETED_FILE).is_file() else None
        saved = IndexParams(**{k: v for k, v in meta.get("params", {}).items() if k in IndexParams.__dataclass_fields__})
        # Search-time values follow the settings; build-time ones stay as built.
        params = params or saved
        loaded = cls(index, meta, IndexParams(**{**asdict(saved), "kind": params.kind, "exact_max": params.exact_max,
                                                 "memory_mb": params.memory_mb, "ef_search": params.ef_search,
                                                 "nprobe": params.nprobe}), deleted)
        loaded._apply_search_params()
        if loaded.count != meta.get("count"):
            raise IndexMismatchError(f"the index in {folder} holds {loaded.count} vectors, its meta.json says "
                                     f"{meta.get('count')}: run `assistant index build`")
        if loaded.dimension != meta.get("dimension"):
            raise IndexMismatchError(f"the index in {folder} has dimension {loaded.dimension}, its meta.json says "
                                     f"{meta.get('dimension')}: run `assistant index build`")
        return loaded

    def _apply_search_params(self) -> None:
        inner = faiss.downcast_index(self._index.index) if isinstance(self._index, faiss.IndexIDMap2) else self._index
        if isinstance(inner, faiss.IndexHNSW):
            inner.hnsw.efSearch = self.params.ef_search
        elif isinstance(inner, faiss.IndexIVF):
            inner.nprobe = min(self.params.nprobe, inner.nlist)

    def _excluded(self) -> np.ndarray:
        if self._deleted_array is None:
            self._deleted_array = np.fromiter(sorted(self._deleted), dtype=np.int64, count=len(self._deleted))
        return self._deleted_array

    def _rebuild(self, kind: str, extra: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Rebuild from the stored vectors (flat and HNSW keep them exactly) without removed entries."""
        ids = faiss.vector_to_array(self._index.id_map)
        vectors = self._index.index.reconstruct_n(0, self._index.ntotal) if len(ids) else \
            np.zeros((0, self.dimension), np.float32)
        keep = ~np.isin(ids, self._excluded())
        ids, vectors = ids[keep], vectors[keep]
        if extra is not None:
            vectors, ids = np.vstack([vectors, extra[0]]), np.concatenate([ids, extra[1]])
        self._index = new_index(kind, self.dimension, self.params, train=vectors if kind.startswith("ivf") else None)
        self._deleted, self._deleted_array, self._deleted_selector = set(), None, None
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)


def read_meta(folder: Path) -> dict:
    """The `meta.json` of an index folder, or IndexMismatchError saying what to run."""
    folder = Path(folder)
    if not (folder / INDEX_FILE).is_file() or not (folder / META_FILE).is_file():
        raise IndexMismatchError(f"no index in {folder} (expected {INDEX_FILE} and {META_FILE}): "
                                 "run `assistant index build`")
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexMismatchError(f"{folder / META_FILE} is damaged ({exc}): run `assistant index build`") from exc
    if not isinstance(meta, dict):
        raise IndexMismatchError(f"{folder / META_FILE} is not a JSON object: run `assistant index build`")
    return meta
