"""What to do with a message: answer it, ask the customer to clarify, or hand it to an agent.

A pure function of (route, hits, history), so every rule is tested case by case without a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.types import Decision, Hit, Route

# Asking for a person in so many words: an escalation even when the classifier is unsure.
HUMAN_REQUEST = re.compile(
    r"\b(?:(?:talk|speak|chat)\s+(?:to|with)\s+(?:an?\s+|a\s+real\s+|your\s+|some\s+)?"
    r"(?:human|person|agent|representative|manager|supervisor|someone|somebody|staff)"
    r"|real\s+(?:human|person)|live\s+(?:agent|person|chat)|human\s+(?:agent|being|please)"
    r"|customer\s+service\s+(?:agent|representative))\b"
    r"|^\W*(?:human|agent|representative|operator)\W*$"
    r"|转人工|人工客服|人工服务|找人工|要人工|真人客服|客服专员|找真人|活人",
    re.IGNORECASE)
# "I don't need a human", "不用转人工": a negation just before the request cancels it.
NEGATION_BEFORE = re.compile(
    r"(?:\bnot?\b|n't|\bdont\b|\bnever\b|\bno need\b|\bwithout\b)(?:\W+\w+){0,3}\W*$|(?:不用|不需要|不要|别|无需|没必要)\W*$",
    re.IGNORECASE)


def asks_for_human(text: str) -> bool:
    """Whether the customer explicitly asks for a person (and does not say they do not want one)."""
    return any(not NEGATION_BEFORE.search(text[max(0, m.start() - 24):m.start()]) for m in HUMAN_REQUEST.finditer(text))


@dataclass(frozen=True)
class PolicyConfig:
    min_answer_score: float        # below: the best FAQ entry is too weak to answer with
    escalate_negative_score: float  # at or above, with a negative label: hand to an agent
    escalating_intents: frozenset[str]
    # A weaker best entry is still used when the router, at least this sure, gives it the same intent.
    min_agree_confidence: float = 0.5
    max_clarifications: int = 2     # consecutive clarifying questions before a human takes over


@dataclass(frozen=True)
class Turn:
    """What the policy needs to know of an earlier turn."""

    action: str | None            # what the bot did: answer | clarify | escalate | hold
    out_of_scope: bool = False    # whether the router found the customer's message out of scope

    @property
    def stuck(self) -> bool:
        return self.action == "clarify" or self.out_of_scope


def decide(route: Route, hits: list[Hit], history: list[Turn], status: str, text: str,
           config: PolicyConfig) -> Decision:
    """The action for one message, with the reason the UIs and the store record.

    Example:
        >>> decide(route, hits, [], "bot", "I want a human", config).action
        'escalate'
    """
    if status in ("escalated", "agent"):
        return Decision("hold", "an agent owns this conversation")
    if asks_for_human(text):
        return Decision("escalate", "the customer asked for a human")
    if route.intent in config.escalating_intents and not route.out_of_scope:
        return Decision("escalate", f"intent '{route.intent}' is handled by agents")
    if route.sentiment == "negative" and route.negative_score >= config.escalate_negative_score:
        return Decision("escalate", f"strongly negative sentiment ({route.negative_score:.2f})")
    agrees = bool(hits) and hits[0].entry.intent == route.intent and route.intent_confidence >= config.min_agree_confidence
    weak = not hits or (hits[0].score < config.min_answer_score and not agrees)
    recent = history[-config.max_clarifications:]
    if (weak or route.out_of_scope) and len(recent) == config.max_clarifications and all(t.stuck for t in recent):
        return Decision("escalate", f"{config.max_clarifications + 1} messages in a row out of scope or without a good answer")
    if weak:
        best = f"{hits[0].score:.2f}" if hits else "none"
        return Decision("clarify", f"no confident answer (best score {best})")
    why = "" if hits[0].score >= config.min_answer_score else f", intent '{route.intent}' agrees"
    return Decision("answer", f"best entry {hits[0].id} ({hits[0].score:.2f}{why})")
