import json

import numpy as np
import pytest

from retrieval.errors import IndexMismatchError
from retrieval.index import FaissIndex, IndexParams, choose_index_type, estimate_bytes, new_index, search_vectors


def unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def clustered(n, dim=32, seed=0):
    """Points around 20 centres: the structure approximate indexes rely on (and real embeddings have)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    return unit(centres[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dim)))


def test_exact_search_matches_brute_force():
    rng = np.random.default_rng(0)
    vectors = unit(rng.normal(size=(500, 32)))
    ids = np.arange(1000, 1500)
    queries = unit(rng.normal(size=(7, 32)))
    index = FaissIndex.build(vectors, ids, meta={}, params=IndexParams(kind="flat"))
    scores, found = index.search(queries, k=5)
    expected = np.argsort(-(queries @ vectors.T), axis=1)[:, :5] + 1000
    assert (found == expected).all()
    assert np.allclose(scores, np.sort(queries @ vectors.T, axis=1)[:, ::-1][:, :5], atol=1e-5)


def test_empty_index_returns_no_neighbours():
    scores, ids = search_vectors(new_index("flat", 4, IndexParams()), unit([[1, 0, 0, 0]]), k=3)
    assert ids.tolist() == [[-1]] and np.isneginf(scores).all()


def test_auto_type_follows_size_and_memory_cap():
    params = IndexParams(exact_max=1000)
    assert choose_index_type(1000, 384, params) == "flat"
    assert choose_index_type(1001, 384, params) == "hnsw"
    hnsw_mib = estimate_bytes("hnsw", 1_000_000, 384, params) / 2**20
    sq8_mib = estimate_bytes("ivfsq8", 1_000_000, 384, params) / 2**20
    assert 1500 < hnsw_mib < 2000 and sq8_mib < hnsw_mib / 3
    assert choose_index_type(1_000_000, 384, IndexParams(memory_mb=int(hnsw_mib) + 1)) == "hnsw"
    assert choose_index_type(1_000_000, 384, IndexParams(memory_mb=int(sq8_mib) + 1)) == "ivfsq8"
    assert choose_index_type(1_000_000, 384, IndexParams(memory_mb=100)) == "ivfpq"
    assert choose_index_type(10, 384, IndexParams(kind="hnsw")) == "hnsw"
    assert choose_index_type(600, 384, IndexParams(exact_max=500, memory_mb=1)) == "hnsw"  # too few for IVF
    with pytest.raises(ValueError, match="not one of"):
        IndexParams(kind="annoy")


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivfsq8", "ivfpq"])
def test_every_type_adds_updates_removes_by_id_and_round_trips(tmp_path, kind):
    vectors = clustered(3000)
    ids = np.arange(3000, dtype=np.int64) * 7
    index = FaissIndex.build(vectors, ids, meta={"embedder": "e"}, params=IndexParams(kind=kind, pq_bytes=8))
    assert index.kind == kind and index.count == 3000
    truth = np.argsort(-(vectors[:50] @ vectors.T), axis=1)[:, :10] * 7
    found = index.search(vectors[:50], k=10)[1]
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])
    # Random answers would have recall ~0.003; product quantisation at 4 dimensions per byte loses ranking.
    assert recall >= (0.9 if kind in ("flat", "hnsw", "ivfsq8") else 0.25)

    # Remove two entries and put one back under a new id ("update"): searches follow at once.
    assert index.remove([0, 7, 123456]) == 2 and index.count == 2998
    assert 0 not in index.search(vectors[:1], k=5)[1][0] and 7 not in index.search(vectors[1:2], k=5)[1][0]
    index.add(vectors[1:2], [99_999])
    assert index.search(vectors[1:2], k=1)[1][0, 0] == 99_999
    assert set(index.ids()) == (set(ids) - {0, 7}) | {99_999}

    index.save(tmp_path / "idx")
    loaded = FaissIndex.load(tmp_path / "idx", expect={"embedder": "e"})
    assert loaded.kind == kind and loaded.count == 2999
    assert (loaded.search(vectors[:20], k=5)[1] == index.search(vectors[:20], k=5)[1]).all()
    meta = json.loads((tmp_path / "idx" / "meta.json").read_text())
    assert meta["index_type"] == kind and meta["count"] == 2999 and meta["normalized"] is True


def test_hnsw_removals_are_skipped_then_compacted():
    vectors = clustered(500)
    index = FaissIndex.build(vectors, np.arange(500), meta={}, params=IndexParams(kind="hnsw"))
    index.remove(np.arange(50))
    assert index.count == 450 and index._index.ntotal == 500  # skipped at search, still in the graph
    assert not set(index.search(vectors[:50], k=10)[1].ravel()) & set(range(50))
    index.remove(np.arange(50, 120))  # past COMPACT_SHARE: the graph is rebuilt without them
    assert index.count == 380 and index._index.ntotal == 380
    assert index.search(vectors[200:201], k=1)[1][0, 0] == 200


def test_auto_flat_index_grows_into_a_graph():
    vectors = clustered(1500)
    index = FaissIndex.build(vectors[:900], np.arange(900), meta={}, params=IndexParams(exact_max=1000))
    assert index.kind == "flat"
    index.add(vectors[900:], np.arange(900, 1500))
    assert index.kind == "hnsw" and index.count == 1500
    assert index.search(vectors[1200:1201], k=1)[1][0, 0] == 1200


def test_save_load_refuses_mismatches(tmp_path):
    vectors = unit(np.eye(4) + 0.01)
    index = FaissIndex.build(vectors, np.arange(4), meta={"embedder": "e1", "knowledge_hash": "abc"})
    index.save(tmp_path / "idx")
    index.save(tmp_path / "idx")  # replacing an existing folder works
    loaded = FaissIndex.load(tmp_path / "idx", expect={"embedder": "e1", "dimension": 4})
    assert loaded.search(vectors[2:3], k=1)[1][0, 0] == 2
    with pytest.raises(IndexMismatchError, match="embedder='e1'.*'e2'.*assistant index build"):
        FaissIndex.load(tmp_path / "idx", expect={"embedder": "e2"})
    with pytest.raises(IndexMismatchError, match="dimension=4.*384"):
        FaissIndex.load(tmp_path / "idx", expect={"dimension": 384})
    with pytest.raises(IndexMismatchError, match="type 'flat'.*'hnsw'"):
        FaissIndex.load(tmp_path / "idx", params=IndexParams(kind="hnsw"))
    with pytest.raises(IndexMismatchError, match="no index"):
        FaissIndex.load(tmp_path / "missing")
    (tmp_path / "idx" / "meta.json").write_text("{broken")
    with pytest.raises(IndexMismatchError, match="damaged"):
        FaissIndex.load(tmp_path / "idx")
    (tmp_path / "idx" / "meta.json").write_text(json.dumps({"count": 4, "dimension": 4}))
    (tmp_path / "idx" / "index.faiss").write_bytes(b"not an index")
    with pytest.raises(IndexMismatchError, match="not a readable FAISS index"):
        FaissIndex.load(tmp_path / "idx")
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]  # no staging folders left behind


def test_vectors_of_another_dimension_are_refused():
    index = FaissIndex.build(unit(np.eye(4)), np.arange(4), meta={})
    with pytest.raises(IndexMismatchError, match="dimension 8"):
        index.add(unit(np.ones((1, 8))), [9])


def test_ids_are_never_reused_and_ivf_needs_enough_vectors():
    index = FaissIndex.build(clustered(600), np.arange(600), meta={}, params=IndexParams(kind="hnsw"))
    index.remove([5])
    with pytest.raises(ValueError, match=r"ids already used in this index: \[5\]"):
        index.add(clustered(1, seed=1), [5])
    with pytest.raises(ValueError, match="must differ"):
        index.add(clustered(2, seed=1), [900, 900])
    with pytest.raises(IndexMismatchError, match="at least 1,000.*ASSISTANT_INDEX_TYPE=auto"):
        FaissIndex.build(clustered(300), np.arange(300), meta={}, params=IndexParams(kind="ivfpq"))


def test_pq_codes_divide_the_dimension():
    from retrieval.index import pq_codes

    assert pq_codes(384, 48) == 48 and pq_codes(100, 48) == 25 and pq_codes(7, 48) == 7
