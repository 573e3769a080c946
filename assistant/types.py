"""The small typed results passed between the stages of one message's journey."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.entities import Entity
from retrieval.retriever import Hit

__all__ = ["Decision", "Draft", "Entity", "Hit", "Reply", "Route"]


@dataclass(frozen=True)
class Route:
    """What the router read from a message."""

    intent: str
    intent_confidence: float
    out_of_scope: bool
    sentiment: str           # negative | neutral | positive
    sentiment_score: float   # the probability of `sentiment`
    negative_score: float    # the probability of negative, whatever the label
    entities: tuple[Entity, ...] = ()
    lang: str = "en"
    # The most likely intents with their probabilities, best first (the retriever uses them as a prior).
    intent_ranking: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Decision:
    """What the policy chose to do with a message, and why."""

    action: str  # answer | clarify | escalate | hold
    reason: str


@dataclass(frozen=True)
class Draft:
    """A reply's text and where it came from."""

    text: str
    source: str                 # template | policy | model | agent
    template_id: str | None = None
    fallback: str | None = None  # why the model's draft was not sent (the template was), when it was not


@dataclass(frozen=True)
class Reply:
    """Everything one customer message produced, as the UIs, the API and the CLI show it.

    An empty message produces a prompt with ids 0 and stores nothing; its `conversation_id` is None
    when no conversation was given.
    """

    conversation_id: str | None
    message_id: int            # the bot's stored reply; 0 when nothing was stored
    text: str
    action: str
    reason: str
    source: str
    status: str
    lang: str
    customer_message_id: int = 0
    template_id: str | None = None
    # What the router read; None for replies that are not to a customer message (a prompt, a button)
    intent: str | None = None
    intent_confidence: float | None = None
    sentiment: str | None = None
    sentiment_score: float | None = None
    sources: tuple[tuple[str, float], ...] = ()
    entities: tuple[Entity, ...] = ()
    notices: tuple[str, ...] = field(default=())
    latency_ms: float = 0.0

    @property
    def escalated(self) -> bool:
        """Whether an agent has (or is about to take) the conversation."""
        return self.status in ("escalated", "agent")

    def as_json(self) -> dict:
        """A JSON-ready dict with the fields scripts rely on."""
        return {
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "reply": self.text,
            "action": self.action,
            "reason": self.reason,
            "source": self.source,
            "template_id": self.template_id,
            "intent": self.intent,
            "intent_confidence": self.intent_confidence,
            "sentiment": self.sentiment,
            "sentiment_score": self.sentiment_score,
            "escalated": self.escalated,
            "status": self.status,
            "lang": self.lang,
            "sources": [{"id": i, "score": round(s, 4)} for i, s in self.sources],
            "entities": [{"kind": e.kind, "value": e.value} for e in self.entities],
            "notices": list(self.notices),
            "latency_ms": round(self.latency_ms, 1),
        }


@dataclass(frozen=True)
class Reading:
    """The sentiment of one text (a review, or a clause of one)."""

    sentiment: str          # positive | neutral | negative
    negative_score: float   # the probability of negative
