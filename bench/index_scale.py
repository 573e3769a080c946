"""FAISS index types against brute force at 10k, 100k and 1M synthetic 384-d unit vectors.

For each size, side by side in one process: NumPy brute force, sentence-transformers'
`util.semantic_search` (PyTorch, exact), and `retrieval.index.FaissIndex` as flat (exact), HNSW and
IVF-PQ. Reports build seconds, index size (MiB, the saved file: what the index holds in memory),
single-query p50/p99 latency, batch throughput and recall@10 against exact search; HNSW and IVF-PQ
also over a sweep of their search-time knob (efSearch, nprobe), which is how the defaults were chosen.

The vectors imitate sentence embeddings of a Q&A bank rather than uniform noise: entries gather in
topics (one per ~50 entries) in a 64-dimensional latent space mapped to 384 dimensions, with
isotropic noise, normalised; a topic's entries spread as far as the topics do, so neighbours of
different topics mix. Real embeddings have a low intrinsic dimension; uniform random 384-d points
have none and every neighbour is about as far as any other point (`--data uniform` measures that
worst case; bench/faq_matching.py checks HNSW's recall on real e5 vectors). Queries are fresh
draws, not indexed points.

    python bench/index_scale.py [--sizes 10000,100000,1000000] [--queries 1000] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
import torch
from sentence_transformers import util

from retrieval.index import FaissIndex, IndexParams

DIM = 384  # the default embedder's (multilingual-e5-small) dimension
K = 10


def synthetic(n: int, dim: int, rng: np.random.Generator, kind: str, basis: np.ndarray,
              topics: np.ndarray) -> np.ndarray:
    """`n` unit vectors: topics in a low-dimensional space ("embedding") or uniform on the sphere."""
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        if kind == "uniform":
            block = rng.standard_normal((m, dim), dtype=np.float32)
        else:
            topic = topics[rng.integers(0, len(topics), m)]
            latent = topic + rng.standard_normal((m, basis.shape[0]), dtype=np.float32)
            block = latent @ basis + 0.35 * rng.standard_normal((m, dim), dtype=np.float32)
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def exact_top(corpus: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    index = faiss.IndexFlatIP(corpus.shape[1])
    index.add(corpus)
    return index.search(queries, k)[1]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def timed_single(search, queries: np.ndarray, limit: int) -> tuple[np.ndarray, float, float]:
    """Search one query at a time; (ids, p50 ms, p99 ms) over the first `limit` queries."""
    times, ids = [], []
    for q in queries[:limit]:
        started = time.perf_counter()
        ids.append(search(q[None, :]))
        times.append(1000 * (time.perf_counter() - started))
    return np.vstack(ids), float(np.percentile(times, 50)), float(np.percentile(times, 99))


def timed_batch(search, queries: np.ndarray) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    ids = search(queries)
    return ids, len(queries) / (time.perf_counter() - started)


def numpy_search(corpus: np.ndarray):
    def search(queries: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(queries), 64):  # bounded memory: 64 x n scores at a time
            scores = queries[start:start + 64] @ corpus.T
            top = np.argpartition(-scores, K, axis=1)[:, :K]
            order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
            out.append(np.take_along_axis(top, order, axis=1))
        return np.vstack(out)
    return search


def semantic_search(corpus: np.ndarray):
    corpus_t = torch.from_numpy(corpus)

    def search(queries: np.ndarray) -> np.ndarray:
        hits = util.semantic_search(torch.from_numpy(queries), corpus_t, top_k=K)
        return np.array([[h["corpus_id"] for h in row] for row in hits])
    return search


def file_mib(index: FaissIndex) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        index.write(Path(tmp))
        return sum(f.stat().st_size for f in Path(tmp).iterdir()) / 2**20


def measure(name: str, search, queries, truth, single: int, **extra) -> dict:
    found, p50, p99 = timed_single(search, queries, single)
    batch_ids, qps = timed_batch(search, queries)
    row = {"method": name, **extra, "p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "batch_qps": round(qps, 1),
           "recall_at_10": round(recall(batch_ids, truth), 4),
           "recall_at_10_single": round(recall(found, truth[:single]), 4)}
    print(json.dumps(row), flush=True)
    return row


def run_size(n: int, opts, rng, basis) -> list[dict]:
    # One topic per ~50 entries (BANKING77 has ~130 questions per intent), topics as spread as the entries in them.
    topics = rng.standard_normal((max(1, n // 50), basis.shape[0]), dtype=np.float32)
    corpus = synthetic(n, DIM, rng, opts.data, basis, topics)
    queries = synthetic(opts.queries, DIM, rng, opts.data, basis, topics)
    truth = exact_top(corpus, queries, K)
    ids = np.arange(n, dtype=np.int64)
    # Brute force is slow at 1M: fewer single queries (its latency barely varies).
    slow_single = min(opts.single, 100 if n >= 1_000_000 else opts.single)
    rows = [measure("numpy brute force", numpy_search(corpus), queries, truth, slow_single, n=n, build_s=0.0,
                    mib=round(corpus.nbytes / 2**20, 1)),
            measure("sentence-transformers semantic_search", semantic_search(corpus), queries, truth, slow_single,
                    n=n, build_s=0.0, mib=round(corpus.nbytes / 2**20, 1))]
    ef = [int(x) for x in opts.ef.split(",")]
    nprobe = [int(x) for x in opts.nprobe.split(",")]
    configs = [("flat", IndexParams(kind="flat"), [None]), ("hnsw", IndexParams(kind="hnsw"), ef),
               ("ivfsq8", IndexParams(kind="ivfsq8"), nprobe), ("ivfpq", IndexParams(kind="ivfpq"), nprobe)]
    for kind, params, knobs in configs:
        if kind in opts.skip:
            continue
        started = time.perf_counter()
        index = FaissIndex.build(corpus, ids, meta={"embedder": "synthetic"}, params=params)
        build_s = time.perf_counter() - started
        mib = file_mib(index)
        for knob in knobs:
            if kind == "hnsw":
                faiss.downcast_index(index._index.index).hnsw.efSearch = knob
            elif kind.startswith("ivf"):
                index._index.nprobe = knob
            label = {"flat": "faiss flat (exact)", "hnsw": f"faiss hnsw M={params.hnsw_m} efSearch={knob}",
                     "ivfsq8": f"faiss ivfsq8 nlist={getattr(index._index, 'nlist', '')} nprobe={knob}",
                     "ivfpq": f"faiss ivfpq {params.pq_bytes}B nlist={getattr(index._index, 'nlist', '')} nprobe={knob}"}[kind]
            single = slow_single if kind == "flat" else opts.single
            rows.append(measure(label, lambda q, ix=index: ix.search(q, K)[1], queries, truth, single,
                                n=n, build_s=round(build_s, 1), mib=round(mib, 1)))
        del index
        gc.collect()
    del corpus
    gc.collect()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=1000, help="queries for recall and batch throughput")
    parser.add_argument("--single", type=int, default=300, help="queries timed one at a time")
    parser.add_argument("--data", choices=["embedding", "uniform"], default="embedding")
    parser.add_argument("--ef", default="32,64,96,128,256", help="HNSW efSearch values to measure")
    parser.add_argument("--nprobe", default="8,16,32,64", help="IVF nprobe values to measure")
    parser.add_argument("--skip", default="", help="comma-separated index types not to build (flat,hnsw,ivfsq8,ivfpq)")
    parser.add_argument("--json", action="store_true", help="print all rows as one JSON list at the end")
    opts = parser.parse_args()
    opts.skip = set(filter(None, opts.skip.split(",")))
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((64, DIM), dtype=np.float32) / np.sqrt(64)
    print(f"# {opts.data} vectors, dim {DIM}, {opts.queries} queries, faiss {faiss.__version__} with "
          f"{faiss.omp_get_max_threads()} threads, torch {torch.__version__} with {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs", flush=True)
    rows = []
    for n in [int(s) for s in opts.sizes.split(",")]:
        rows += run_size(n, opts, rng, basis)
    if opts.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
