"""The store's tables. Every text in them is masked (assistant.pii) before it gets here.

Schema changes go through a new migration in assistant/migrations/versions; a test checks that the
migrations produce exactly these tables.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel

CONVERSATION_STATUSES = ("bot", "escalated", "agent", "resolved")
ROLES = ("customer", "bot", "agent", "system")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives it back naive, in UTC; PostgreSQL aware)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex


class ConversationBase(SQLModel):
    channel: str = Field(default="web", max_length=16)          # web | api | cli
    status: str = Field(default="bot", max_length=16, index=True)  # one of CONVERSATION_STATUSES
    lang: str | None = Field(default=None, max_length=8)
    escalation_reason: str | None = Field(default=None, max_length=200)


class Conversation(ConversationBase, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    # SHA-256 of the conversation's API token (conversations started through the HTTP API only)
    token_hash: str | None = Field(default=None, max_length=64)
    api_key_id: int | None = Field(default=None, foreign_key="apikey.id")


class ConversationPublic(ConversationBase):
    id: str
    created_at: datetime
    updated_at: datetime


class MessageBase(SQLModel):
    role: str = Field(max_length=16)                          # one of ROLES
    text: str                                                 # masked
    lang: str | None = Field(default=None, max_length=8)
    intent: str | None = Field(default=None, max_length=64)
    intent_confidence: float | None = None
    out_of_scope: bool | None = None
    sentiment: str | None = Field(default=None, max_length=16)
    sentiment_score: float | None = None
    # [{"id": "en-0001", "score": 0.83}, ...] for customer messages; the FAQ entries the reply drew on
    retrieved: list | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    # [{"kind": "order_id", "value": "MM20261104"}, ...]; personal data only as its mask tag
    entities: list | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    pii_found: list | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    action: str | None = Field(default=None, max_length=16)   # answer | clarify | escalate | hold (bot rows)
    reason: str | None = Field(default=None, max_length=200)
    source: str | None = Field(default=None, max_length=16)   # template | policy | model | agent
    template_id: str | None = Field(default=None, max_length=64)
    model_versions: dict | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    latency_ms: float | None = None
    truncated: bool = False


class Message(MessageBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # An agent's corrections of the router's labels (training data for the learning loop)
    corrected_intent: str | None = Field(default=None, max_length=64, index=True)  # listed by the console
    corrected_sentiment: str | None = Field(default=None, max_length=16)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=True)  # dashboard ranges


class MessagePublic(MessageBase):
    id: int
    conversation_id: str
    created_at: datetime


class Feedback(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    rating: int                                               # +1 thumbs up, -1 thumbs down
    comment: str | None = None                                # masked
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ApiKey(SQLModel, table=True):
    """A shop's key for the HTTP API: it may start conversations, from the origins listed."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    key_hash: str = Field(max_length=64, unique=True)          # SHA-256 of the key; the key is shown once
    prefix: str = Field(max_length=16)                          # the key's first characters, to tell keys apart
    origins: list | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))  # CORS origins
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Agent(SQLModel, table=True):
    """A support agent's account for the console; the password is kept as a salted scrypt hash."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class AgentAction(SQLModel, table=True):
    """Everything an agent does (who, when, what): take over, reply, correct, hand back, resolve."""

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    action: str = Field(max_length=32)
    detail: dict | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ApprovedAnswer(SQLModel, table=True):
    """A customer's question and the answer an agent approved for the knowledge base.

    The learning loop adds it to the FAQ index as entry `entry_id` and sets `added_at`; approving a new
    wording clears `added_at`, so the next turn updates the entry.
    """

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", unique=True)   # the customer's question
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    agent_id: int = Field(foreign_key="agent.id")
    question: str                                             # masked
    answer: str                                               # masked
    intent: str | None = Field(default=None, max_length=64)
    lang: str | None = Field(default=None, max_length=8)
    entry_id: str | None = Field(default=None, max_length=64)     # the FAQ entry's id (agent-<id>)
    index_version: str | None = Field(default=None, max_length=64)  # the index version that added it
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    added_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ReviewBatch(SQLModel, table=True):
    """One file of product reviews analysed by `assistant analyze reviews` or the dashboard's upload."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)                          # the file's name
    status: str = Field(default="running", max_length=16)      # running | done | failed
    rows: int = 0                                              # reviews analysed and stored
    skipped: int = 0                                           # rows without text, or unreadable
    model: str | None = Field(default=None, max_length=100)    # the sentiment model that read them
    report_dir: str | None = None                              # the markdown + PNG report's folder
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=True)
    finished_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Review(SQLModel, table=True):
    """One analysed review: its masked text, what it is about, and what the models read in it."""

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="reviewbatch.id", index=True)
    text: str                                                  # masked
    product: str | None = Field(default=None, max_length=200, index=True)  # the file's product column
    reviewed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True), index=True)
    rating: float | None = None
    lang: str | None = Field(default=None, max_length=8)
    sentiment: str = Field(max_length=16)                      # positive | neutral | negative
    negative_score: float                                      # the model's probability of negative
    # {"delivery": "negative", "quality": "positive"}: the sentiment of the clauses naming each aspect
    aspects: dict | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    mentions: list | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))  # catalog products named


class Alert(SQLModel, table=True):
    """A significant rise of negative messages or reviews for one intent, product or aspect."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=True)
    source: str = Field(max_length=16)                         # messages | reviews
    scope: str = Field(max_length=16)                          # intent | product | aspect | all
    key: str = Field(max_length=200)
    window_start: datetime = Field(sa_type=DateTime(timezone=True))
    window_end: datetime = Field(sa_type=DateTime(timezone=True))
    window_negative: int
    window_total: int
    baseline_negative: int
    baseline_total: int
    p_value: float
    test: str = Field(max_length=200)                          # the test and its correction, in words
    webhook: str | None = Field(default=None, max_length=200)  # what the webhook answered, if one is set


class AdminAction(SQLModel, table=True):
    """An administrator's command (keys, agents, models, index, training): who ran it where, with which
    arguments (personal data masked), and how it ended. Agents' own actions are AgentAction rows."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=True)
    actor: str = Field(max_length=128)       # user@host of the shell that ran it
    action: str = Field(max_length=64)       # "keys create", "models promote", ...
    arguments: dict | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    outcome: str = Field(max_length=200)     # "done", or "failed: ..." with the reason
