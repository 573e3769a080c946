import pytest

from assistant.policy import PolicyConfig, Turn, asks_for_human, decide
from assistant.types import Route
from retrieval.knowledge import FaqEntry
from retrieval.retriever import Hit

CONFIG = PolicyConfig(min_answer_score=0.35, escalate_negative_score=0.8,
                      escalating_intents=frozenset({"ask_human", "complaint"}))
ENTRY = FaqEntry("en-1", "order_status", "en", "Where is my order?", "Check {order_id}.")


def route(intent="order_status", confidence=0.9, sentiment="neutral", negative=0.05, oos=False):
    return Route(intent, confidence, oos, sentiment, 0.9, negative)


def hit(score):
    return [Hit(ENTRY, score, score, score)]


@pytest.mark.parametrize("args, action", [
    ((route(), hit(0.8), [], "bot", "where is my order"), "answer"),
    ((route(), hit(0.2), [], "bot", "where is my order"), "answer"),  # weak, but the router agrees
    ((route(intent="refund_status"), hit(0.2), [], "bot", "where is my order"), "clarify"),
    ((route(confidence=0.4), hit(0.2), [], "bot", "where is my order"), "clarify"),
    ((route(), [], [], "bot", "hmm"), "clarify"),
    ((route(), hit(0.9), [], "bot", "can I talk to a human please"), "escalate"),
    ((route(), hit(0.9), [], "bot", "转人工"), "escalate"),
    ((route(intent="ask_human"), hit(0.9), [], "bot", "someone help"), "escalate"),
    ((route(intent="complaint", oos=True), hit(0.9), [], "bot", "meh"), "answer"),
    ((route(sentiment="negative", negative=0.95), hit(0.9), [], "bot", "worst shop ever"), "escalate"),
    ((route(sentiment="negative", negative=0.6), hit(0.9), [], "bot", "a bit annoyed"), "answer"),
    ((route("x"), hit(0.2), [Turn("clarify"), Turn("clarify")], "bot", "?"), "escalate"),
    ((route("x"), hit(0.2), [Turn("clarify"), Turn("answer")], "bot", "?"), "clarify"),
    ((route(oos=True), hit(0.9), [Turn("answer", True), Turn("clarify")], "bot", "?"), "escalate"),
    ((route(oos=True), hit(0.9), [Turn("answer", True), Turn("answer")], "bot", "weather?"), "answer"),
    ((route(), hit(0.9), [], "escalated", "hello?"), "hold"),
    ((route(), hit(0.9), [], "agent", "hello?"), "hold"),
])
def test_decide(args, action):
    assert decide(*args, CONFIG).action == action


@pytest.mark.parametrize("text, asks", [
    ("can I talk to a human please", True), ("转人工", True), ("我要人工客服！", True), ("human", True),
    ("let me speak to your manager", True), ("I want to speak with a real person", True),
    ("维修的人工费多少钱", False), ("你们是人工智能吗", False), ("不用转人工，帮我查下订单", False),
    ("I do NOT want a human agent", False), ("I don't need to talk to an agent", False),
    ("representative sample sizes?", False),
])
def test_asking_for_a_human(text, asks):
    assert asks_for_human(text) is asks


def test_decision_says_why():
    decision = decide(route(sentiment="negative", negative=0.93), hit(0.9), [], "bot", "awful", CONFIG)
    assert "negative" in decision.reason and "0.93" in decision.reason
