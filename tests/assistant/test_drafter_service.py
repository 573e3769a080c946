"""The drafter service (dynamic batching), its client (timeout, circuit breaker) and the guarded model drafter."""

import asyncio
import time

import pytest
from fastapi.testclient import TestClient

from assistant.drafter import ModelDrafter, TemplateDrafter, drafter_input
from assistant.drafter_service import Batcher, CircuitBreaker, DrafterUnavailable, RemoteGenerator, create_service
from assistant.seq2seq import Decoding, Seq2SeqGenerator
from assistant.types import Route
from retrieval.knowledge import FaqEntry, load_knowledge
from retrieval.retriever import Hit
from tests.conftest import KNOWLEDGE


def test_concurrent_requests_are_decoded_in_shared_batches():
    seen = []

    def generate(texts):
        seen.append(list(texts))
        return [t.upper() for t in texts]

    async def scenario():
        batcher = Batcher(generate, max_batch=4, max_wait_ms=50)
        results = await asyncio.gather(*(batcher.submit([f"m{i}"]) for i in range(6)), batcher.submit(["x", "y"]))
        return batcher, results

    batcher, results = asyncio.run(scenario())
    assert results == [[f"M{i}"] for i in range(6)] + [["X", "Y"]]  # each caller gets its own outputs
    assert batcher.batches == [4, 4] and sorted(sum(seen, [])) == sorted([f"m{i}" for i in range(6)] + ["x", "y"])


def test_a_failing_batch_fails_its_callers_and_the_next_batch_runs():
    calls = []

    def generate(texts):
        calls.append(texts)
        if len(calls) == 1:
            raise RuntimeError("CUDA out of memory")
        return texts

    async def scenario():
        batcher = Batcher(generate, max_batch=8, max_wait_ms=1)
        with pytest.raises(RuntimeError, match="out of memory"):
            await batcher.submit(["a"])
        return await batcher.submit(["b"])

    assert asyncio.run(scenario()) == ["b"]


def test_the_service_drafts_with_a_real_model_and_refuses_bad_input(tiny_seq2seq):
    generator = Seq2SeqGenerator(tiny_seq2seq, Decoding(max_new_tokens=8))
    with TestClient(create_service(generator)) as client:
        assert client.get("/healthz").json()["model"] == tiny_seq2seq.name
        body = client.post("/v1/generate", json={"inputs": ["question: hi", "question: 你好"]}).json()
        assert body["outputs"] == generator.generate(["question: hi", "question: 你好"])
        assert client.post("/v1/generate", json={"inputs": []}).status_code == 422
        assert client.post("/v1/generate", json={"inputs": ["  "]}).status_code == 422
        assert client.post("/v1/generate", content=b"{broken").status_code == 422


def test_the_breaker_opens_after_failures_and_lets_one_trial_through_later():
    now = [0.0]
    breaker = CircuitBreaker(failures=2, reset_seconds=30, clock=lambda: now[0])
    assert breaker.allow() and breaker.state == "closed"
    breaker.record(False)
    assert breaker.allow()
    breaker.record(False)
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 31.0
    assert breaker.state == "half-open" and breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.record(False)                                   # the trial failed: open again
    assert breaker.state == "open"
    now[0] = 62.0
    assert breaker.allow()
    breaker.record(True)
    assert breaker.state == "closed" and breaker.allow()


def test_a_dead_drafter_host_fails_fast_and_then_is_not_called():
    remote = RemoteGenerator("http://127.0.0.1:9", timeout=0.5, breaker=CircuitBreaker(failures=2, reset_seconds=60))
    for _ in range(2):
        with pytest.raises(DrafterUnavailable, match="did not answer"):
            remote.generate(["question: hi"])
    started = time.perf_counter()
    with pytest.raises(DrafterUnavailable, match="failed repeatedly"):
        remote.generate(["question: hi"])
    assert time.perf_counter() - started < 0.05  # no connection attempted while open


class Canned:
    """A generator that answers with fixed text (the model is not the point here)."""

    name, device = "canned", "cpu"

    def __init__(self, text):
        self.text, self.inputs = text, []

    def warm_up(self):
        pass

    def generate(self, inputs):
        self.inputs.extend(inputs)
        return [self.text for _ in inputs]


@pytest.fixture
def shop_hit():
    shop = load_knowledge(KNOWLEDGE).shop
    entry = FaqEntry("en-x", "refund_status", "en", "when do I get my refund?",
                     "Refunds reach your account within 3-5 working days. Questions: {support_email}")
    route = Route(intent="refund_status", intent_confidence=0.9, out_of_scope=False, sentiment="negative",
                  sentiment_score=0.8, negative_score=0.8, lang="en")
    return shop, [Hit(entry, 0.9, 0.9, 0.5)], route


def test_the_model_draft_is_sent_only_when_faithful(shop_hit):
    shop, hits, route = shop_hit
    template = TemplateDrafter(shop)
    good = ModelDrafter(template, Canned("Sorry for the wait! Your refund reaches you in 3-5 working days."))
    draft = good.draft("where is my refund??", route, hits)
    assert draft.source == "model" and draft.template_id == "en-x" and draft.fallback is None
    assert good.generator.inputs == [drafter_input("where is my refund??", "refund_status", "negative",
                                                   [template.fill(hits[0], route)])]
    invented = ModelDrafter(template, Canned("Your refund arrives in 24 hours."))
    draft = invented.draft("where is my refund??", route, hits)
    assert draft.source == "template" and "3-5 working days" in draft.text and "24" in draft.fallback
    cut = ModelDrafter(template, Canned(None)).draft("where is my refund??", route, hits)
    assert cut.source == "template" and "cut off" in cut.fallback


def test_a_dead_drafter_service_never_blocks_a_reply(shop_hit):
    shop, hits, route = shop_hit
    drafter = ModelDrafter(TemplateDrafter(shop), RemoteGenerator("http://127.0.0.1:9", timeout=0.5))
    started = time.perf_counter()
    draft = drafter.draft("where is my refund?", route, hits)
    assert draft.source == "template" and "3-5 working days" in draft.text and "did not answer" in draft.fallback
    assert time.perf_counter() - started < 2.0


def test_the_assistant_answers_from_templates_while_its_drafter_service_is_down(fake_assistant):
    from assistant.pipeline import Assistant
    from tests.conftest import HashEmbedder

    settings = fake_assistant.settings.model_copy(update={"drafter": "model", "drafter_url": "http://127.0.0.1:9",
                                                          "drafter_timeout": 0.5})
    bot = Assistant(settings, embedder=HashEmbedder())
    started = time.perf_counter()
    replies = [bot.reply(None, "how much is shipping?") for _ in range(4)]
    assert all(r.action == "answer" and r.source == "template" and r.text for r in replies)
    stored = next(m for m in bot.transcript(replies[0].conversation_id) if m.role == "bot")
    assert "model draft not sent: the drafter at http://127.0.0.1:9 did not answer" in stored.reason
    assert time.perf_counter() - started < 4 * 0.5 + 2.0  # at most one timeout each, fewer once the breaker opens


def test_a_missing_drafter_model_is_a_clear_error_at_start(fake_assistant):
    from assistant.errors import ModelMissing
    from assistant.pipeline import Assistant
    from tests.conftest import HashEmbedder

    bot = Assistant(fake_assistant.settings.model_copy(update={"drafter": "model"}), embedder=HashEmbedder())
    with pytest.raises(ModelMissing, match="assistant train drafter"):
        bot.warm_up()
