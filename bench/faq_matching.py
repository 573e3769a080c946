"""FAQ matching on real data: index BANKING77 / CLINC150 training questions, retrieve for test questions.

Each training question becomes a Q&A entry (its intent as the entry's intent); a test question is
matched when the top hit has its intent (accuracy@1) or one of the top 5 does (recall@5). Side by
side in one run, through `retrieval.retriever.Retriever` (the code the assistant serves with):
dense only (lexical weight 0) and hybrid at several lexical weights, on the clean test questions and
on a typo-ridden copy (one character dropped, doubled or swapped in ~every other word, seeded).

Also measured here, on the same real vectors:
  * the answer threshold: CLINC150's out-of-scope test questions against its in-scope ones, by the
    top hit's fused score (how many out-of-scope questions a threshold stops, how many answers it costs);
  * the de-duplication threshold: how many training questions have a neighbour at least that close,
    and how often that neighbour has another intent (a wrong merge);
  * HNSW's recall@10 against exact search on these real vectors (the synthetic ones are in index_scale.py);
  * end-to-end latency for one message: embed it, then search (p50/p95).

    python bench/faq_matching.py [--weights 0,0.1,0.2,0.3,0.5] [--encoder multilingual-e5-small] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.classifier import OOS_LABELS
from assistant.models import embedder_from_settings
from assistant.settings import Settings
from finetune.data import read_labelled
from retrieval.faq_index import FaqIndex
from retrieval.index import FaissIndex, IndexParams
from retrieval.knowledge import FaqEntry
from retrieval.retriever import Retriever

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


class Precomputed:
    """The embedder with every bench text embedded once in batches (so configurations differ only in search)."""

    def __init__(self, embedder, texts: list[str]):
        self.name, self.dim, self._embedder = embedder.name, embedder.dim, embedder
        unique = sorted(set(texts))
        vectors = embedder.encode(unique, kind="query", progress=True, batch_size=64)
        self._vectors = dict(zip(unique, vectors))

    def unknown_fraction(self, text: str) -> float:
        return self._embedder.unknown_fraction(text)

    def encode(self, texts, *, kind="query", batch_size=64, progress=False) -> np.ndarray:
        return np.vstack([self._vectors[t] for t in texts])


def typos(text: str, rng: np.random.Generator) -> str:
    """Drop, double or swap one character in about every other word longer than three letters."""
    words = text.split()
    for i, word in enumerate(words):
        if len(word) > 3 and rng.random() < 0.5:
            j = int(rng.integers(1, len(word) - 1))
            op = rng.integers(3)
            words[i] = (word[:j] + word[j + 1:] if op == 0 else word[:j] + word[j] + word[j:] if op == 1
                        else word[:j - 1] + word[j] + word[j - 1] + word[j + 1:])
    return " ".join(words)


def load(name: str):
    if name == "banking77":
        return (read_labelled(SHARED / "banking77" / "train.csv").train,
                read_labelled(SHARED / "banking77" / "test.csv").train)
    data = read_labelled(SHARED / "clinc150" / "data_full.json")
    return data.train, data.test


def matching(retriever: Retriever, tests: list[tuple[str, str]]) -> dict:
    top1 = top5 = 0
    for text, intent in tests:
        hits = retriever.search(text, k=5, lang="en")
        top1 += bool(hits) and hits[0].entry.intent == intent
        top5 += any(h.entry.intent == intent for h in hits)
    return {"accuracy_at_1": round(top1 / len(tests), 4), "recall_at_5": round(top5 / len(tests), 4), "n": len(tests)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="0,0.1,0.2,0.3,0.5")
    parser.add_argument("--encoder", default="multilingual-e5-small", choices=["multilingual-e5-small", "all-minilm-l6-v2"])
    parser.add_argument("--latency-queries", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    settings = Settings(encoder=opts.encoder)
    real = embedder_from_settings(settings)
    rng = np.random.default_rng(0)
    sets = {name: load(name) for name in ("banking77", "clinc150")}
    noisy = {name: [(typos(e.text, rng), e.label("intent")) for e in test if e.label("intent") not in OOS_LABELS]
             for name, (_, test) in sets.items()}
    all_texts = [e.text for train, test in sets.values() for e in train + test] + \
                [t for rows in noisy.values() for t, _ in rows]
    started = time.perf_counter()
    embedder = Precomputed(real, all_texts)
    results: dict = {"encoder": real.name, "embed_texts_per_second": round(len(set(all_texts)) / (time.perf_counter() - started), 1)}
    weights = [float(w) for w in opts.weights.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        for name, (train, test) in sets.items():
            entries = [FaqEntry(f"{name}-{i}", e.label("intent"), "en", e.text, f"answer for {e.label('intent')}")
                       for i, e in enumerate(train) if e.label("intent") not in OOS_LABELS]
            folder = Path(tmp) / name
            faq = FaqIndex.build(entries, embedder, knowledge_hash=name)
            faq.save(folder)
            clean = [(e.text, e.label("intent")) for e in test if e.label("intent") not in OOS_LABELS]
            row: dict = {"entries": len(entries)}
            for weight in weights:
                retriever = Retriever(folder, embedder, lexical_weight=weight)
                row[f"w={weight:g}"] = {"clean": matching(retriever, clean), "typos": matching(retriever, noisy[name])}
                print(name, f"lexical weight {weight:g}", json.dumps(row[f"w={weight:g}"]), flush=True)
            row["dedup"] = dedup_table(faq, embedder)
            row["hnsw_recall_at_10"] = hnsw_recall(faq, embedder, [t for t, _ in clean])
            if name == "clinc150":
                oos = [e.text for e in test if e.label("intent") in OOS_LABELS]
                row["answer_threshold"] = threshold_table(Retriever(folder, embedder, lexical_weight=settings.lexical_weight),
                                                          clean, oos)
            row["latency_ms"] = latency(folder, real, [t for t, _ in clean][:opts.latency_queries], settings.lexical_weight)
            print(name, json.dumps({k: v for k, v in row.items() if not k.startswith("w=")}), flush=True)
            results[name] = row
    print(json.dumps(results, indent=None if opts.json else 2))


def dedup_table(faq: FaqIndex, embedder) -> list[dict]:
    """Per threshold: share of entries with a nearer neighbour than it, and the share of those of another intent."""
    keys, entries = faq.keyed()
    vectors = embedder.encode([e.question for e in entries])
    scores, found = faq.index.search(vectors, k=2)
    # The nearest other entry (the first hit is the entry itself, or an exact twin).
    other = np.where(found[:, 0] == keys, 1, 0)
    best = scores[np.arange(len(keys)), other]
    neighbour = found[np.arange(len(keys)), other]
    intents = np.array([faq.entry_at(k).intent for k in neighbour])
    mine = np.array([e.intent for e in entries])
    table = []
    for t in (0.9, 0.93, 0.95, 0.97, 0.98, 0.99):
        close = best >= t
        table.append({"threshold": t, "merged_share": round(float(close.mean()), 4),
                      "wrong_intent_share_of_merged": round(float((intents[close] != mine[close]).mean()), 4)
                      if close.any() else 0.0})
    return table


def hnsw_recall(faq: FaqIndex, embedder, queries: list[str]) -> dict:
    keys, entries = faq.keyed()
    vectors = embedder.encode([e.question for e in entries])
    q = embedder.encode(queries)
    exact = FaissIndex.build(vectors, keys, meta={}, params=IndexParams(kind="flat")).search(q, 10)[1]
    out = {}
    for ef in (32, 64, 128):
        graph = FaissIndex.build(vectors, keys, meta={}, params=IndexParams(kind="hnsw", ef_search=ef)).search(q, 10)[1]
        out[f"efSearch={ef}"] = round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(graph, exact)])), 4)
    return out


def threshold_table(retriever: Retriever, clean: list[tuple[str, str]], oos: list[str]) -> list[dict]:
    inscope = np.array([retriever.search(t, k=1, lang="en")[0].score for t, _ in clean])
    correct = np.array([retriever.search(t, k=1, lang="en")[0].entry.intent == i for t, i in clean])
    outside = np.array([retriever.search(t, k=1, lang="en")[0].score for t in oos])
    table = []
    for t in np.round(np.arange(0.30, 0.96, 0.05), 2):
        table.append({"threshold": float(t), "inscope_answered": round(float((inscope >= t).mean()), 4),
                      "inscope_answered_correctly": round(float(((inscope >= t) & correct).mean()), 4),
                      "oos_stopped": round(float((outside < t).mean()), 4)})
    return table


def latency(folder: Path, embedder, queries: list[str], weight: float) -> dict:
    """One message at a time, as served: embed (not cached) + hybrid search."""
    retriever = Retriever(folder, embedder, lexical_weight=weight)
    retriever.warm_up()
    embedder.forget_recent()
    embed, total = [], []
    for text in queries:
        started = time.perf_counter()
        embedder.encode([text + " ?"], kind="query")  # another text: not served from the recent cache
        embed.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        retriever.search(text, k=5, lang="en")
        total.append(1000 * (time.perf_counter() - started))
    return {"embed_p50": round(float(np.percentile(embed, 50)), 2),
            "embed_plus_search_p50": round(float(np.percentile(total, 50)), 2),
            "embed_plus_search_p95": round(float(np.percentile(total, 95)), 2)}


if __name__ == "__main__":
    main()
