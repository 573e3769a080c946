import json

import numpy as np
import pytest

from retrieval.errors import IndexMismatchError
from retrieval.index import FaissIndex, exact_index, search_vectors


def unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_exact_search_matches_brute_force():
    rng = np.random.default_rng(0)
    vectors = unit(rng.normal(size=(500, 32)))
    ids = np.arange(1000, 1500)
    queries = unit(rng.normal(size=(7, 32)))
    scores, found = search_vectors(exact_index(vectors, ids), queries, k=5)
    expected = np.argsort(-(queries @ vectors.T), axis=1)[:, :5] + 1000
    assert (found == expected).all()
    assert np.allclose(scores, np.sort(queries @ vectors.T, axis=1)[:, ::-1][:, :5], atol=1e-5)


def test_empty_index_returns_no_neighbours():
    scores, ids = search_vectors(exact_index(np.zeros((0, 4), np.float32), np.zeros(0)), unit([[1, 0, 0, 0]]), k=3)
    assert ids.tolist() == [[-1]] and np.isneginf(scores).all()


def test_save_load_round_trip_and_mismatch(tmp_path):
    vectors = unit(np.eye(4) + 0.01)
    index = FaissIndex.build(vectors, np.arange(4), meta={"embedder": "e1", "knowledge_hash": "abc"})
    index.save(tmp_path / "idx")
    index.save(tmp_path / "idx")  # replacing an existing folder works
    meta = json.loads((tmp_path / "idx" / "meta.json").read_text())
    assert meta["dimension"] == 4 and meta["count"] == 4 and meta["normalized"] is True
    loaded = FaissIndex.load(tmp_path / "idx", expect={"embedder": "e1"})
    assert loaded.search(vectors[2:3], k=1)[1][0, 0] == 2
    with pytest.raises(IndexMismatchError, match="embedder='e1'.*'e2'.*assistant index build"):
        FaissIndex.load(tmp_path / "idx", expect={"embedder": "e2"})
    with pytest.raises(IndexMismatchError, match="no index"):
        FaissIndex.load(tmp_path / "missing")
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]  # no staging folders left behind
