"""The shop's router, side by side on the sample shop: the instant bootstrap router (linear heads over
frozen embeddings + character n-grams) against the fine-tuned classifier (fp32 and int8).

    python bench/router.py [--encoder e5|minilm] [--epochs 5] [--json]

Both are trained on the same 80% of the labelled messages and measured on the same held-out 20%
(stratified by intent, seed 0: the split `assistant train router` reports). Prints held-out intent and
sentiment accuracy per language, training time, and single-message routing latency (p50/p95 over the
held-out messages, one message at a time, as the chat calls it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from assistant.models import embedder_from_settings, minilm_path, multilingual_encoder_path
from assistant.pii import mask
from assistant.router import Router
from assistant.settings import Settings
from finetune.args import ClassifierTrainingArgs, RouterTrainingArgs
from finetune.classifier import train_classifier
from finetune.data import from_messages
from finetune.router import train_router
from retrieval.knowledge import load_knowledge


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))], 2)


def measure(router: Router, messages) -> dict:
    texts = [mask(m.text).text for m in messages]
    router.route(texts[0])  # first call loads the model
    latencies, routes = [], []
    for text in texts:
        started = time.perf_counter()
        routes.append(router.route(text))
        latencies.append((time.perf_counter() - started) * 1000)
    out = {"p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95),
           "mean_ms": round(statistics.fmean(latencies), 2)}
    for lang in ("all", "en", "zh"):
        rows = [i for i, m in enumerate(messages) if lang in ("all", m.lang)]
        # A message flagged out of scope counts as the intent out_of_scope, right only when it is one.
        out[f"intent_{lang}"] = round(float(np.mean([
            ("out_of_scope" if routes[i].out_of_scope else routes[i].intent) == messages[i].intent for i in rows])), 4)
        out[f"sentiment_{lang}"] = round(float(np.mean([routes[i].sentiment == messages[i].sentiment for i in rows])), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default="e5", choices=["e5", "minilm"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-router-"))
    settings = Settings(home=home, encoder="multilingual-e5-small" if options.encoder == "e5" else "all-minilm-l6-v2")
    knowledge = load_knowledge(settings.knowledge_dir)
    messages = list(knowledge.messages)
    train_idx, test_idx = train_test_split(np.arange(len(messages)), test_size=0.2, random_state=0,
                                           stratify=[m.intent for m in messages])
    train, test = [messages[i] for i in train_idx], [messages[i] for i in test_idx]
    quiet = lambda _: None  # noqa: E731
    embedder = embedder_from_settings(settings)
    pattern = knowledge.shop.order_id_pattern
    results = []

    (home / "router").mkdir()
    started = time.perf_counter()
    train_router(train, embedder, home / "router", args=RouterTrainingArgs(holdout_fraction=0.0), log=quiet)
    seconds = time.perf_counter() - started
    results.append({"router": f"bootstrap linear heads ({embedder.name})", "train_seconds": round(seconds, 1)}
                   | measure(Router(home / "router", embedder, order_id_pattern=pattern), test))

    encoder = multilingual_encoder_path(settings) if options.encoder == "e5" else minilm_path()
    started = time.perf_counter()
    train_classifier(from_messages(train), encoder, home / "classifier",
                     args=ClassifierTrainingArgs(epochs=options.epochs), log=quiet, progress=False)
    seconds = time.perf_counter() - started
    for int8 in (False, True):
        router = Router(home / "classifier", embedder, order_id_pattern=pattern, int8=int8)
        results.append({"router": f"fine-tuned classifier ({encoder.name}{', int8' if int8 else ''})",
                        "train_seconds": round(seconds, 1)} | measure(router, test))

    for row in results:
        if options.json:
            print(json.dumps(row))
        else:
            print(f"{row['router']}: intent {row['intent_all']:.3f} (en {row['intent_en']:.3f}, zh {row['intent_zh']:.3f}), "
                  f"sentiment {row['sentiment_all']:.3f}; p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms; "
                  f"trained in {row['train_seconds']} s")


if __name__ == "__main__":
    main()
