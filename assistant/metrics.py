"""Prometheus metrics of the runtime, served at `/metrics` (prometheus-client's text format).

Latency per pipeline stage, replies by source and action, escalations, drafter fallbacks and errors.
One set per process (prometheus-client's default registry, with its process and GC collectors); under
`assistant serve --workers N` every process writes its values to PROMETHEUS_MULTIPROC_DIR and whichever worker
answers the scrape sums them all (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

# Stage latencies of one reply: a few ms (routing with the bootstrap router) to seconds (a model draft).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STAGES = ("mask", "route", "retrieve", "draft", "store", "total")

STAGE_SECONDS = Histogram("assistant_stage_seconds", "Seconds per pipeline stage of one reply", ["stage"],
                          buckets=BUCKETS)
REPLIES = Counter("assistant_replies_total", "Replies sent, by who wrote them and what the policy decided",
                  ["source", "action"])
ESCALATIONS = Counter("assistant_escalations_total", "Conversations handed to an agent", ["trigger"])
DRAFTER_FALLBACKS = Counter("assistant_drafter_fallbacks_total",
                            "Model drafts replaced by the filled template, by why", ["reason"])
ERRORS = Counter("assistant_errors_total", "Requests that failed, by kind", ["kind"])

for _stage in STAGES:  # every series exists from the start, at zero, so rates are defined before traffic
    STAGE_SECONDS.labels(_stage)


@contextmanager
def timed(stage: str):
    """Observe the seconds a block takes as one sample of `stage`."""
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(stage).observe(time.perf_counter() - started)


# How the drafter client and the in-process generator say that no draft came (assistant/drafter_service.py,
# assistant/seq2seq.py): an outage, not a draft the guard refused.
UNAVAILABLE = ("unavailable", "timed out", "timeout", "circuit", "failed repeatedly", "retrying", "busy",
               "did not answer", "http ")


def fallback_reason(fallback: str) -> str:
    """A draft's fallback explanation as one of a few label values (labels must stay a small set)."""
    text = fallback.lower()
    if "cut off" in text:
        return "cut_off"
    if any(word in text for word in UNAVAILABLE):
        return "unavailable"
    if ":" in text.split(" ", 1)[0]:  # "ValueError: ..." from a failing generator
        return "error"
    return "unfaithful"


def exposition() -> tuple[bytes, str]:
    """(the metrics in Prometheus' text format, its content type)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
