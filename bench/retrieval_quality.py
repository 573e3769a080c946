"""Retrieval top-1 / top-3 accuracy on held-out paraphrases of the sample shop's FAQ questions.

Each line of bench/data/faq_paraphrases.*.jsonl is a new wording of one FAQ entry's question, written
separately from the FAQ; the right answer is that entry. Compares, side by side in one run, plain
FAISS over the embedder (the baseline) with the hybrid retriever at several lexical weights, with and
without the router's intent prior (the router is trained on knowledge/messages, never on paraphrases).

    python bench/retrieval_quality.py [--weights 0,0.3,0.5,0.7,1] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.models import embedder_from_settings
from assistant.router import Router
from assistant.settings import Settings
from finetune.router import train_router
from retrieval.index import FaissIndex
from retrieval.knowledge import load_knowledge
from retrieval.retriever import Retriever, build_index

DATA = Path(__file__).resolve().parent / "data"


def load_paraphrases() -> list[dict]:
    rows = []
    for path in sorted(DATA.glob("faq_paraphrases.*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="0,0.3,0.4,0.5,0.6,0.7,1")
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    settings = Settings()
    knowledge = load_knowledge(settings.knowledge_dir)
    embedder = embedder_from_settings(settings)
    paraphrases = load_paraphrases()
    results = {}

    def measure(name: str, top3) -> None:
        per_lang: dict[str, list[int]] = {}
        embedder.forget_recent()  # every configuration embeds its queries itself (ms/query is comparable)
        started = time.perf_counter()
        for row in paraphrases:
            ids = top3(row["text"])
            rank = ids.index(row["faq_id"]) + 1 if row["faq_id"] in ids else 0
            per_lang.setdefault(row["faq_id"].split("-")[0], []).append(rank)
        seconds = time.perf_counter() - started
        results[name] = {lang: {"n": len(r), "top1": sum(x == 1 for x in r) / len(r),
                                "top3": sum(x > 0 for x in r) / len(r)} for lang, r in sorted(per_lang.items())}
        results[name]["ms_per_query"] = 1000 * seconds / len(paraphrases)

    with tempfile.TemporaryDirectory() as tmp:
        faq = list(knowledge.faq)
        build_index(faq, embedder, Path(tmp) / "index", knowledge_hash="bench")
        train_router(list(knowledge.messages), embedder, Path(tmp), log=lambda _: None)
        router = Router(Path(tmp), embedder, order_id_pattern=knowledge.shop.order_id_pattern)

        # Baseline: plain FAISS over the embedder's question vectors, restricted to the message's language.
        plain = FaissIndex.load(Path(tmp) / "index")
        langs = np.array([e.lang for e in faq])

        def baseline(text: str) -> list[str]:
            scores, ids = plain.search(embedder.encode([text]), k=len(faq))
            lang = router.route(text).lang
            return [faq[i].id for i in ids[0] if langs[i] == lang][:3]

        measure("faiss dense (baseline)", baseline)
        for weight in [float(w) for w in opts.weights.split(",")]:
            retriever = Retriever(Path(tmp) / "index", embedder, lexical_weight=weight)
            measure(f"hybrid w={weight:g}", lambda t, r=retriever: [h.id for h in r.search(t, k=3)])
            measure(f"hybrid w={weight:g} + intent prior",
                    lambda t, r=retriever: [h.id for h in r.search(t, k=3, intent_prior=dict(router.route(t).intent_ranking))])
    if opts.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{len(paraphrases)} paraphrases over {len(knowledge.faq)} FAQ entries, embedder {embedder.name}")
    print(f"{'retriever':>32} | {'en top-1':>8} {'en top-3':>8} | {'zh top-1':>8} {'zh top-3':>8} | ms/query")
    for name, r in results.items():
        print(f"{name:>32} | {r['en']['top1']:8.3f} {r['en']['top3']:8.3f} | {r['zh']['top1']:8.3f} "
              f"{r['zh']['top3']:8.3f} | {r['ms_per_query']:.1f}")


if __name__ == "__main__":
    main()
