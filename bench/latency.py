"""Latency of `Assistant.reply` (route + retrieve + policy + draft + one SQLite transaction) on this
machine, with the default models, over a bilingual mix of customer messages.

    python bench/latency.py [--turns 300] [--home DIR] [--json]

Bootstraps a fresh ASSISTANT_HOME in a temporary folder unless --home names one; prints p50/p95/p99
of the whole reply and of its two model stages (the router embeds the message, the retriever reuses
that embedding), and the router's held-out metrics.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from assistant.pipeline import Assistant
from assistant.registry import Registry
from assistant.settings import Settings
from retrieval.knowledge import load_knowledge
from ui.bootstrap import ensure_ready

DATA = Path(__file__).resolve().parent / "data"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def run(home: Path, turns: int) -> dict:
    settings = Settings(home=home)
    started = time.perf_counter()
    ensure_ready(settings, log=lambda _: None, progress=False)
    bootstrap_s = time.perf_counter() - started
    assistant = Assistant(settings)
    started = time.perf_counter()
    assistant.warm_up()
    warm_up_s = time.perf_counter() - started
    knowledge = load_knowledge(settings.knowledge_dir)
    texts = [json.loads(line)["text"] for path in sorted(DATA.glob("faq_paraphrases.*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts += [m.text for m in knowledge.messages]
    random.Random(0).shuffle(texts)
    router, retriever = assistant.runtime.router, assistant.runtime.retriever
    total, route_ms, search_ms = [], [], []
    conversation = None
    for i, text in enumerate((texts * (turns // len(texts) + 1))[:turns]):
        if i % 10 == 0:
            conversation = None  # ten turns per conversation
        t0 = time.perf_counter()
        reply = assistant.reply(conversation, text)
        total.append((time.perf_counter() - t0) * 1000)
        conversation = reply.conversation_id if reply.status == "bot" else None
        router.embedder.forget_recent()  # measure the stages as reply() runs them: route embeds, search reuses
        t0 = time.perf_counter()
        route = router.route(text)
        route_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        retriever.search(text, k=settings.top_k, intent_prior=dict(route.intent_ranking))
        search_ms.append((time.perf_counter() - t0) * 1000)
    registry = Registry(settings.models_dir)
    metrics = registry.info("router", registry.active_version("router"))["metrics"]
    stat = lambda v: {"p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1),  # noqa: E731
                      "p99": round(percentile(v, 99), 1), "mean": round(statistics.mean(v), 1)}
    return {"turns": turns, "bootstrap_s": round(bootstrap_s, 1), "warm_up_s": round(warm_up_s, 1),
            "reply_ms": stat(total), "route_ms": stat(route_ms), "search_ms": stat(search_ms),
            "router_holdout": metrics.get("holdout")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    if opts.home:
        result = run(opts.home, opts.turns)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(Path(tmp), opts.turns)
    if opts.json:
        print(json.dumps(result, indent=2))
        return
    print(f"bootstrap {result['bootstrap_s']} s (train router + build index + migrate), "
          f"warm-up {result['warm_up_s']} s (load models)")
    for name in ("reply_ms", "route_ms", "search_ms"):
        r = result[name]
        print(f"{name:>10}: p50 {r['p50']:7.1f}  p95 {r['p95']:7.1f}  p99 {r['p99']:7.1f}  mean {r['mean']:7.1f}"
              f"   ({result['turns']} turns)")
    h = result["router_holdout"]
    if h:
        print(f"router held-out ({h['n']} messages, seed {h['seed']}): intent accuracy {h['intent']['accuracy']:.3f}"
              f" (macro-F1 {h['intent']['macro_f1']:.3f}), sentiment accuracy {h['sentiment']['accuracy']:.3f}"
              f" (macro-F1 {h['sentiment']['macro_f1']:.3f})")
        for lang, m in h["per_language"].items():
            print(f"  {lang}: intent {m['intent_accuracy']:.3f}, sentiment {m['sentiment_accuracy']:.3f} (n={m['n']})")


if __name__ == "__main__":
    main()
