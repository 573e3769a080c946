"""What the conversations say, for the operators' dashboard: keyword-only queries over the store.

Every query takes a half-open time range `start <= created_at < end` of timezone-aware datetimes and
counts per UTC day. Counts are aggregated in SQL where one GROUP BY does it; per-day figures select the
few columns they need and bucket by day in Python, because the day expression differs between SQLite
and PostgreSQL. No query loads a message's text except those of the poorly answered messages shown.

Example:
    >>> with store.transaction(engine) as session:
    ...     days = messages_per_day(session, start=start, end=end)
    >>> days[0].day, days[0].conversations, days[0].customer_messages
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, select

from assistant.errors import InvalidInput
from assistant.tables import Conversation, Feedback, Message, as_utc
from retrieval.knowledge import SENTIMENTS

UNKNOWN = "unknown"
WEAK_RETRIEVAL, THUMBS_DOWN, ESCALATED = "weak retrieval", "thumbs down", "escalated"
ENTITY_KINDS = ("product", "order_id")

_INTENT = func.coalesce(Message.corrected_intent, Message.intent)       # an agent's correction wins
_SENTIMENT = func.coalesce(Message.corrected_sentiment, Message.sentiment)


@dataclass(frozen=True)
class DayVolume:
    day: date
    conversations: int          # started that day
    customer_messages: int


@dataclass(frozen=True)
class IntentCount:
    intent: str
    count: int
    share: float                # of the customer messages in the range


@dataclass(frozen=True)
class DaySentiment:
    day: date
    positive: int
    neutral: int
    negative: int


@dataclass(frozen=True)
class IntentSentiment:
    intent: str
    positive: int
    neutral: int
    negative: int

    @property
    def total(self) -> int:
        return self.positive + self.neutral + self.negative

    @property
    def negative_share(self) -> float:
        return self.negative / self.total if self.total else 0.0


@dataclass(frozen=True)
class DayEscalations:
    day: date
    active: int                 # conversations with any message that day
    escalated: int              # of those, conversations the bot escalated that day

    @property
    def rate(self) -> float:
        return self.escalated / self.active if self.active else 0.0


@dataclass(frozen=True)
class DayResponse:
    day: date                   # the day of the escalation
    escalations: int
    answered: int               # an agent has written since (whenever)
    median_seconds: float | None
    p90_seconds: float | None

    @property
    def unanswered(self) -> int:
        return self.escalations - self.answered


@dataclass(frozen=True)
class DayRatings:
    day: date
    up: int
    down: int


@dataclass(frozen=True)
class Ratings:
    days: tuple[DayRatings, ...]
    up: int
    down: int

    @property
    def down_share(self) -> float:
        return self.down / (self.up + self.down) if self.up + self.down else 0.0


@dataclass(frozen=True)
class PoorAnswer:
    """A customer message the bot answered weakly, and what an agent answered instead (if one did)."""

    message_id: int
    conversation_id: str
    created_at: datetime
    text: str
    intent: str
    reasons: tuple[str, ...]    # of WEAK_RETRIEVAL, THUMBS_DOWN, ESCALATED
    top_score: float | None     # the best FAQ entry's score; None when nothing was retrieved
    agent_answer: str | None    # the first agent message after it, before the customer wrote again


@dataclass(frozen=True)
class Topic:
    """Poorly answered messages that ask the same thing."""

    size: int
    question: str               # the message closest to the topic's centroid
    question_id: int
    examples: tuple[str, ...]   # up to 5 distinct texts, closest to the centroid first
    intent: str                 # the most common one
    reasons: tuple[str, ...]    # most frequent first
    answer: str | None          # the agent answer of the most central message that has one
    answer_message_id: int | None  # the customer message that answer replied to (what desk.approve_answer takes)
    message_ids: tuple[int, ...]


@dataclass(frozen=True)
class EntityCount:
    kind: str
    value: str
    count: int                  # negative customer messages naming it


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(f"{name} must be timezone-aware (UTC), got the naive datetime {value.isoformat()}")
    return value.astimezone(timezone.utc)


def _range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        raise InvalidInput(f"the range ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    return start, end


def days_of(start: datetime, end: datetime) -> list[date]:
    """The UTC days the range touches, zero-count days included."""
    start, end = _range(start, end)
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _in(column, start: datetime, end: datetime):
    return (column >= start) & (column < end)


def _per_day(rows, start: datetime, end: datetime) -> dict[date, list]:
    """{day: [row[1:], ...]} for rows whose first column is a time, every day of the range present."""
    days: dict[date, list] = {day: [] for day in days_of(start, end)}
    for when, *rest in rows:
        days[as_utc(when).date()].append(rest[0] if len(rest) == 1 else tuple(rest))
    return days


def first_activity(session: Session) -> datetime | None:
    """When the first message was written ("all time" starts there); None for an empty store."""
    first = session.exec(select(func.min(Message.created_at))).one()
    return as_utc(first) if first is not None else None


def messages_per_day(session: Session, *, start: datetime, end: datetime) -> list[DayVolume]:
    """Conversations started and customer messages written, per day."""
    start, end = _range(start, end)
    started = _per_day(session.exec(select(Conversation.created_at, Conversation.id)
                                    .where(_in(Conversation.created_at, start, end))), start, end)
    written = _per_day(session.exec(select(Message.created_at, Message.id).where(
        Message.role == "customer", _in(Message.created_at, start, end))), start, end)
    return [DayVolume(day, len(started[day]), len(written[day])) for day in started]


def intent_distribution(session: Session, *, start: datetime, end: datetime) -> list[IntentCount]:
    """Customer messages per intent (an agent's correction wins; no intent is "unknown"), most first."""
    start, end = _range(start, end)
    # No literal inside the grouped expression: PostgreSQL would see two different bound parameters.
    rows = session.exec(select(_INTENT, func.count()).where(
        Message.role == "customer", _in(Message.created_at, start, end)).group_by(_INTENT))
    counts: Counter[str] = Counter()
    for intent, count in rows:
        counts[intent or UNKNOWN] += count
    total = sum(counts.values())
    return [IntentCount(intent, count, count / total)
            for intent, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def sentiment_per_day(session: Session, *, start: datetime, end: datetime) -> list[DaySentiment]:
    """Customer messages per day and sentiment (an agent's correction wins; unlabelled ones are left out)."""
    start, end = _range(start, end)
    days = _per_day(session.exec(select(Message.created_at, _SENTIMENT).where(
        Message.role == "customer", _in(Message.created_at, start, end))), start, end)
    return [DaySentiment(day, *(labels.count(s) for s in ("positive", "neutral", "negative")))
            for day, labels in days.items()]


def sentiment_by_intent(session: Session, *, start: datetime, end: datetime) -> list[IntentSentiment]:
    """Sentiment counts per intent, the highest negative share first (then the most messages)."""
    start, end = _range(start, end)
    rows = session.exec(select(_INTENT, _SENTIMENT, func.count()).where(
        Message.role == "customer", _in(Message.created_at, start, end)).group_by(_INTENT, _SENTIMENT))
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for intent, sentiment, count in rows:
        if sentiment in SENTIMENTS:
            counts[intent or UNKNOWN][sentiment] += count
    found = [IntentSentiment(intent, c["positive"], c["neutral"], c["negative"]) for intent, c in counts.items()]
    return sorted(found, key=lambda i: (-i.negative_share, -i.total, i.intent))


def escalations_per_day(session: Session, *, start: datetime, end: datetime) -> list[DayEscalations]:
    """Per day: conversations active (any message), and those the bot escalated.

    An escalation is a bot message with action "escalate": the policy's reply to a customer message, or
    the notice of the customer's "talk to a person" button.
    """
    start, end = _range(start, end)
    rows = session.exec(select(Message.created_at, Message.conversation_id, Message.action)
                        .where(_in(Message.created_at, start, end)))
    return [DayEscalations(day, len({c for c, _ in seen}), len({c for c, action in seen if action == "escalate"}))
            for day, seen in _per_day(rows, start, end).items()]


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def response_times_per_day(session: Session, *, start: datetime, end: datetime) -> list[DayResponse]:
    """Seconds from an escalation to the first agent message after it, median and p90 per day.

    Escalations of one conversation with no agent message between them are one wait, counted from the
    first. An agent message after `end` still answers an escalation in the range.
    """
    start, end = _range(start, end)
    escalated = (select(Message.conversation_id).where(Message.action == "escalate", Message.role == "bot",
                                                       _in(Message.created_at, start, end)).distinct())
    rows = session.exec(select(Message.conversation_id, Message.id, Message.created_at, Message.role, Message.action)
                        .where(Message.conversation_id.in_(escalated), Message.created_at >= start,
                               (Message.role == "agent") | (Message.action == "escalate"))
                        .order_by(Message.conversation_id, Message.id))
    waits: list[tuple[datetime, float | None]] = []   # (escalated at, seconds until an agent wrote)
    waiting_since: datetime | None = None
    conversation = None
    for conversation_id, _, created_at, role, _ in rows:
        created_at = as_utc(created_at)
        if conversation_id != conversation:
            if waiting_since is not None:
                waits.append((waiting_since, None))
            conversation, waiting_since = conversation_id, None
        if role == "agent":
            if waiting_since is not None:
                waits.append((waiting_since, (created_at - waiting_since).total_seconds()))
            waiting_since = None
        elif waiting_since is None and created_at < end:
            waiting_since = created_at
    if waiting_since is not None:
        waits.append((waiting_since, None))
    days = _per_day(waits, start, end)
    result = []
    for day, seconds in days.items():
        answered = [s for s in seconds if s is not None]
        result.append(DayResponse(day, len(seconds), len(answered), _percentile(answered, 50),
                                  _percentile(answered, 90)))
    return result


def _latest_ratings(session: Session, start: datetime, end: datetime | None) -> list[tuple[datetime, int, int]]:
    """(when, bot message id, rating) of the latest rating per message in the range (the latest counts)."""
    query = select(Feedback.created_at, Feedback.message_id, Feedback.rating).where(Feedback.created_at >= start)
    if end is not None:
        query = query.where(Feedback.created_at < end)
    rows = session.exec(query.order_by(Feedback.id))
    return list({message_id: (when, message_id, rating) for when, message_id, rating in rows}.values())


def ratings_per_day(session: Session, *, start: datetime, end: datetime) -> Ratings:
    """Customers' thumbs up and down per day, and the thumbs-down share of the range."""
    start, end = _range(start, end)
    days = _per_day(((when, rating) for when, _, rating in _latest_ratings(session, start, end)), start, end)
    per_day = tuple(DayRatings(day, ratings.count(1), ratings.count(-1)) for day, ratings in days.items())
    return Ratings(per_day, sum(d.up for d in per_day), sum(d.down for d in per_day))


@dataclass
class _Turn:
    """A customer message while the walk through its conversation reads what followed it."""

    message_id: int
    conversation_id: str
    created_at: datetime
    intent: str
    top_score: float | None
    reasons: list[str]
    followed: bool = False          # a message came after it (the bot's reply, if it was a bot message)
    agent_id: int | None = None     # the first agent message after it


def poorly_answered(session: Session, *, start: datetime, end: datetime, min_score: float,
                    limit: int = 500) -> list[PoorAnswer]:
    """Customer messages whose reply was weak, newest first, at most `limit`.

    Weak: the best retrieved FAQ entry scored under `min_score` (or none was found), the customer gave
    the bot's reply a thumbs down (at any time since), or the bot escalated in reply. Each comes with
    the first agent message after it in its conversation, before the customer's next message: the
    answer an agent wrote.
    """
    start, end = _range(start, end)
    if limit < 1:
        raise InvalidInput(f"limit must be at least 1, got {limit}")
    in_range = select(Message.conversation_id).where(Message.role == "customer", _in(Message.created_at, start, end))
    rows = session.exec(select(Message.id, Message.conversation_id, Message.created_at, Message.role, Message.action,
                               Message.retrieved, _INTENT)
                        .where(Message.conversation_id.in_(in_range.distinct()), Message.created_at >= start)
                        .order_by(Message.conversation_id, Message.id))
    down = {message_id for _, message_id, rating in _latest_ratings(session, start, None) if rating == -1}
    turns: list[_Turn] = []
    turn: _Turn | None = None
    for message_id, conversation_id, created_at, role, action, retrieved, intent in rows:
        if turn is not None and turn.conversation_id != conversation_id:
            turn = None
        if role == "customer":
            created_at = as_utc(created_at)
            turn = None if created_at >= end else _Turn(
                message_id, conversation_id, created_at, intent or UNKNOWN,
                retrieved[0]["score"] if retrieved else None, [])
            if turn is not None:
                # No hits at all is as weak as a poor best hit; None means nothing was searched.
                if retrieved is not None and (turn.top_score is None or turn.top_score < min_score):
                    turn.reasons.append(WEAK_RETRIEVAL)
                turns.append(turn)
            continue
        if turn is None:
            continue
        if role == "bot" and not turn.followed:  # save_turn writes the bot's reply right after the message
            turn.reasons += [THUMBS_DOWN] * (message_id in down) + [ESCALATED] * (action == "escalate")
        if role == "agent" and turn.agent_id is None:
            turn.agent_id = message_id
        turn.followed = True
    poor = sorted((t for t in turns if t.reasons), key=lambda t: t.message_id, reverse=True)[:limit]
    wanted = [t.message_id for t in poor] + [t.agent_id for t in poor if t.agent_id is not None]
    texts = {i: text for i, text in session.exec(select(Message.id, Message.text).where(Message.id.in_(wanted)))}
    return [PoorAnswer(t.message_id, t.conversation_id, t.created_at, texts[t.message_id], t.intent,
                       tuple(t.reasons), t.top_score, texts.get(t.agent_id)) for t in poor]


def group_topics(messages: list[PoorAnswer], embedder, *, threshold: float = 0.75) -> list[Topic]:
    """Group messages whose query embeddings are at least `threshold` similar (cosine, average linkage).

    `embedder.encode(texts, kind="query")` must return unit-length rows. Largest topic first.
    """
    if not 0.0 < threshold <= 1.0:
        raise InvalidInput(f"the topic threshold is a cosine similarity in (0, 1], got {threshold}")
    if not messages:
        return []
    vectors = np.asarray(embedder.encode([m.text for m in messages], kind="query"), dtype=np.float32)
    if len(messages) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        from sklearn.cluster import AgglomerativeClustering  # heavy: only when there is something to group

        # Distances from the dot products: a text with no readable token (a zero vector) is far from all.
        distances = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)
        np.fill_diagonal(distances, 0.0)
        labels = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                         distance_threshold=1.0 - threshold).fit_predict(distances)
    topics = [_topic([messages[i] for i in members], vectors[members])
              for members in (np.flatnonzero(labels == label) for label in np.unique(labels))]
    return sorted(topics, key=lambda t: (-t.size, -max(t.message_ids)))


def _topic(members: list[PoorAnswer], vectors: np.ndarray) -> Topic:
    closeness = vectors @ vectors.mean(axis=0)
    order = sorted(range(len(members)), key=lambda i: (-closeness[i], -members[i].message_id))
    ranked = [members[i] for i in order]
    examples = tuple(dict.fromkeys(m.text for m in ranked))[:5]
    intents = Counter(m.intent for m in members)
    intent = min(intents, key=lambda i: (-intents[i], i))
    # Only an answer to a question of the topic's own intent is offered for the knowledge base: a loose topic
    # may hold a return complaint beside a delivery one, and the wrong answer would reach every customer.
    answered = next((m for m in ranked if m.agent_answer and m.intent == intent), None)
    reasons = Counter(r for m in members for r in m.reasons)
    return Topic(size=len(members), question=ranked[0].text, question_id=ranked[0].message_id, examples=examples,
                 intent=intent,
                 reasons=tuple(sorted(reasons, key=lambda r: (-reasons[r], r))),
                 answer=answered.agent_answer if answered else None,
                 answer_message_id=answered.message_id if answered else None,
                 message_ids=tuple(m.message_id for m in ranked))


def negative_entities(session: Session, *, start: datetime, end: datetime, top: int = 10,
                      kinds: tuple[str, ...] = ENTITY_KINDS) -> list[EntityCount]:
    """The products and order ids named most often in negative customer messages, `top` per kind.

    A message naming the same thing twice counts once.
    """
    start, end = _range(start, end)
    rows = session.exec(select(Message.entities).where(
        Message.role == "customer", _SENTIMENT == "negative", Message.entities.is_not(None),
        _in(Message.created_at, start, end)))
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in kinds}
    for entities in rows:
        named = {(e.get("kind"), str(e.get("value", "")).strip()) for e in entities or () if isinstance(e, dict)}
        for kind, value in named:
            if kind in counts and value:
                counts[kind][value] += 1
    return [EntityCount(kind, value, count) for kind in kinds
            for value, count in sorted(counts[kind].items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
