"""What to do with a message: answer it, ask the customer to clarify, or hand it to an agent.

A pure function of (route, hits, history), so every rule is tested case by case without a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.types import Decision, Hit, Route

# Asking for a person in so many words: an escalation even when the classifier is unsure.
HUMAN_REQUEST = re.compile(
    r"\b(?:human|real person|live (?:agent|person|chat)|(?:talk|speak|chat) (?:to|with) (?:an? )?(?:agent|person|someone|representative|manager|supervisor)|representative|customer service agent)\b"
    r"|人工|真人|转客服|客服专员|找客服|活人|投诉专员",
    re.IGNORECASE)


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
    """What the policy needs to know of an earlier bot turn."""

    action: str


def decide(route: Route, hits: list[Hit], history: list[Turn], status: str, text: str,
           config: PolicyConfig) -> Decision:
    """The action for one message, with the reason the UIs and the store record.

    Example:
        >>> decide(route, hits, [], "bot", "I want a human", config).action
        'escalate'
    """
    if status in ("escalated", "agent"):
        return Decision("hold", "an agent owns this conversation")
    if HUMAN_REQUEST.search(text):
        return Decision("escalate", "the customer asked for a human")
    if route.intent in config.escalating_intents and not route.out_of_scope:
        return Decision("escalate", f"intent '{route.intent}' is handled by agents")
    if route.sentiment == "negative" and route.negative_score >= config.escalate_negative_score:
        return Decision("escalate", f"strongly negative sentiment ({route.negative_score:.2f})")
    agrees = bool(hits) and hits[0].entry.intent == route.intent and route.intent_confidence >= config.min_agree_confidence
    if not hits or (hits[0].score < config.min_answer_score and not agrees):
        recent = [turn.action for turn in history[-config.max_clarifications:]]
        if len(recent) == config.max_clarifications and all(a == "clarify" for a in recent):
            return Decision("escalate", f"{config.max_clarifications + 1} messages in a row without a good answer")
        best = f"{hits[0].score:.2f}" if hits else "none"
        return Decision("clarify", f"no confident answer (best score {best})")
    why = "" if hits[0].score >= config.min_answer_score else f", intent '{route.intent}' agrees"
    return Decision("answer", f"best entry {hits[0].id} ({hits[0].score:.2f}{why})")
