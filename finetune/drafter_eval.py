"""The drafter against the template baseline on held-out pairs: chrF, ROUGE-L, fallback rate, latency."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from assistant import guard
from finetune.seq2seq import DrafterExample
from finetune.text_metrics import chrf, rouge_l


def evaluate_drafter(examples: list[DrafterExample], generate: Callable[[list[str]], list[str | None]], *,
                     order_id_pattern: str | None = None, progress: bool = False) -> dict:
    """Each example drafted one at a time, as a customer's reply would be.

    `model` scores what customers would read with the guard on (the draft when it passes, else the
    template), `model_raw` the drafts as written, `template` the baseline (the best retrieved answer,
    filled). A draft the limits cut off counts as a fallback.
    """
    from tqdm.auto import tqdm

    if not examples:
        raise ValueError("no test pairs to evaluate the drafter on")
    targets = [e.target for e in examples]
    templates = [e.sources[0] for e in examples]
    sent, raw, latencies, fallbacks, reasons = [], [], [], 0, {}
    for example in tqdm(examples, desc="Drafting", disable=not progress):
        started = time.perf_counter()
        draft = generate([example.input])[0]
        latencies.append(1000 * (time.perf_counter() - started))
        verdict = guard.check(draft or "", list(example.sources), example.message, lang=example.lang,
                              order_id_pattern=order_id_pattern) if draft is not None else None
        raw.append(draft or "")
        if verdict is not None and verdict.ok:
            sent.append(draft)
        else:
            fallbacks += 1
            why = ("cut off by the time or length limit" if verdict is None
                   else "states a fact found in no source" if verdict.unsupported
                   else "not about its sources (too little shared wording)" if "not about them" in verdict.reason
                   else verdict.reason)
            reasons[why] = reasons.get(why, 0) + 1
            sent.append(example.sources[0])

    def scores(outputs: list[str]) -> dict:
        return {"chrf": round(chrf(outputs, targets), 2), "rouge_l": round(rouge_l(outputs, targets), 2)}

    by_lang = {}
    for lang in sorted({e.lang for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.lang == lang]
        pick = lambda xs: [xs[i] for i in idx]  # noqa: E731
        by_lang[lang] = {"n": len(idx), "model_chrf": round(chrf(pick(sent), pick(targets)), 2),
                         "template_chrf": round(chrf(pick(templates), pick(targets)), 2)}
    return {
        "n": len(examples),
        "model": scores(sent), "model_raw": scores(raw), "template": scores(templates),
        "fallback_rate": round(fallbacks / len(examples), 4), "fallback_reasons": reasons,
        "latency_ms": {"p50": round(float(np.percentile(latencies, 50)), 1),
                       "p95": round(float(np.percentile(latencies, 95)), 1)},
        "per_language": by_lang,
        "examples": [{"message": e.message, "target": e.target, "template": t, "draft": r, "sent": s}
                     for e, t, r, s in list(zip(examples, templates, raw, sent))[:5]],
    }
