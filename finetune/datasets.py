"""Training data from the store: what agents corrected, what customers confirmed, split by conversation.

Classifier examples are customer messages with labels from, in order of trust:
    agent      an agent corrected the intent or sentiment in the console (always used);
    pseudo     the router's own confident prediction in a conversation the customer rated well (thumbs
               up, never down), marked as such and switched off with `pseudo_labels=False`.
Drafter examples pair a customer message (with the turns before it) with the agent's reply to it.
Texts are stored masked (assistant/pii.py runs before anything is written); they are masked again
here, so rows written before a masking rule existed are covered too. Texts repeated up to case,
width, spacing and punctuation are kept once, the most trusted label winning. Whole conversations go to one side of a split, so a model is never
scored on a conversation it learned from; the frozen holdout is a list of conversation ids kept in
ASSISTANT_HOME that never enters training and grows only when `grow_holdout` is called.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from assistant.pii import mask
from assistant.tables import Feedback, Message
from finetune.data import Example
from retrieval.faq_index import question_key

ORIGINS = ("agent", "pseudo")


@dataclass(frozen=True)
class LoggedExample:
    """A training example exported from the store, with where it came from."""

    example: Example
    conversation_id: str
    message_id: int
    origin: str  # one of ORIGINS

    def as_row(self) -> dict:
        return {"text": self.example.text, **dict(self.example.labels), "origin": self.origin,
                "conversation_id": self.conversation_id, "message_id": self.message_id}


@dataclass(frozen=True)
class DrafterPair:
    """A customer message, the turns before it, and the agent's reply to it."""

    conversation_id: str
    context: tuple[tuple[str, str], ...]  # (role, text) of up to `CONTEXT_TURNS` earlier messages
    message: str
    reply: str
    intent: str | None = None       # the message's intent and sentiment (an agent's correction first)
    sentiment: str | None = None

    def as_row(self) -> dict:
        return {"conversation_id": self.conversation_id, "context": [list(t) for t in self.context],
                "message": self.message, "reply": self.reply, "intent": self.intent, "sentiment": self.sentiment}


@dataclass
class Export:
    """One export: classifier and drafter examples on each side of the frozen holdout."""

    train: list[LoggedExample] = field(default_factory=list)
    holdout: list[LoggedExample] = field(default_factory=list)
    drafter_train: list[DrafterPair] = field(default_factory=list)
    drafter_holdout: list[DrafterPair] = field(default_factory=list)
    stats: dict = field(default_factory=dict)


CONTEXT_TURNS = 4


def export(engine: Engine, *, holdout: set[str], pseudo_labels: bool = True, min_confidence: float = 0.9) -> Export:
    """Everything the store can teach, split by the frozen holdout's conversation ids."""
    out = Export()
    counts = {"agent": 0, "pseudo": 0, "duplicates": 0, "drafter_pairs": 0}
    seen: dict[str, LoggedExample] = {}
    with Session(engine) as session:
        ratings: dict[str, list[int]] = {}
        for conversation_id, rating in session.exec(select(Feedback.conversation_id, Feedback.rating)):
            ratings.setdefault(conversation_id, []).append(rating)
        liked = {c for c, r in ratings.items() if max(r) > 0 and min(r) > 0}
        # Per conversation: the customer message awaiting an agent's reply, with the turns before it.
        waiting: dict[str, tuple[str, tuple[tuple[str, str], ...], str | None, str | None]] = {}
        turns: dict[str, list[tuple[str, str]]] = {}
        for message in session.exec(select(Message).order_by(Message.conversation_id, Message.id)):
            text = mask(message.text).text.strip()
            history = turns.setdefault(message.conversation_id, [])
            if message.role == "customer" and text:
                logged = _labelled(message, text, message.conversation_id in liked and pseudo_labels, min_confidence)
                if logged is not None:
                    key = question_key(text) or text
                    kept = seen.get(key)
                    # Agents over pseudo-labels; between agents, the latest correction.
                    if kept is None or (logged.origin == "agent" and (kept.origin == "pseudo"
                                                                      or logged.message_id > kept.message_id)):
                        seen[key] = logged
                    counts["duplicates"] += kept is not None
                waiting[message.conversation_id] = (text, tuple(history[-CONTEXT_TURNS:]),
                                                    message.corrected_intent or message.intent,
                                                    message.corrected_sentiment or message.sentiment)
            elif message.role == "agent" and text and message.conversation_id in waiting:
                asked, before, intent, sentiment = waiting.pop(message.conversation_id)
                pair = DrafterPair(message.conversation_id, before, asked, text, intent, sentiment)
                (out.drafter_holdout if message.conversation_id in holdout else out.drafter_train).append(pair)
                counts["drafter_pairs"] += 1
            if text and message.role in ("customer", "bot", "agent"):
                history.append((message.role, text))
    for logged in seen.values():
        counts[logged.origin] += 1
        (out.holdout if logged.conversation_id in holdout else out.train).append(logged)
    out.stats = {**counts, "train": len(out.train), "holdout": len(out.holdout),
                 "drafter_train": len(out.drafter_train), "drafter_holdout": len(out.drafter_holdout)}
    return out


def _labelled(message: Message, text: str, pseudo: bool, min_confidence: float) -> LoggedExample | None:
    labels: dict[str, str] = {}
    origin = None
    if message.corrected_intent:
        labels["intent"], origin = message.corrected_intent, "agent"
    if message.corrected_sentiment:
        labels["sentiment"], origin = message.corrected_sentiment, "agent"
    if origin is None and pseudo:
        if message.intent and not message.out_of_scope and (message.intent_confidence or 0) >= min_confidence:
            labels["intent"] = message.intent
        if message.sentiment and (message.sentiment_score or 0) >= min_confidence:
            labels["sentiment"] = message.sentiment
        origin = "pseudo" if labels else None
    if origin is None:
        return None
    return LoggedExample(Example(text, tuple(sorted(labels.items()))), message.conversation_id, message.id, origin)


# -- the frozen holdout ----------------------------------------------------------------------------------------

def read_holdout(path: Path) -> set[str]:
    """The holdout's conversation ids (empty before the first `grow_holdout`)."""
    path = Path(path)
    if not path.is_file():
        return set()
    return set(json.loads(path.read_text(encoding="utf-8")).get("conversations", []))


def grow_holdout(path: Path, engine: Engine, *, fraction: float = 0.2, seed: int = 0) -> dict:
    """Add `fraction` of the labelled conversations not yet seen by this holdout; never removes any.

    Which conversations join is decided by a hash of (seed, conversation id), so the same store and
    seed always give the same holdout. Conversations considered once are remembered (`considered`),
    so a later call only draws from newer ones and never moves a training conversation into it.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    path = Path(path)
    state = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"conversations": [], "considered": []}
    considered = set(state.get("considered", []))
    with Session(engine) as session:
        labelled = {row for row in session.exec(
            select(Message.conversation_id).where(Message.role == "customer"))}
    new = sorted(labelled - considered)
    chosen = [c for c in new if _unit_hash(f"{seed}\0{c}") < fraction]
    state["conversations"] = sorted(set(state.get("conversations", [])) | set(chosen))
    state["considered"] = sorted(considered | set(new))
    state.setdefault("grown", []).append({"at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                          "added": len(chosen), "considered": len(new), "fraction": fraction})
    _write_state(path, state)
    return {"added": len(chosen), "considered": len(new), "total": len(state["conversations"])}


def consider(path: Path, conversation_ids: set[str]) -> None:
    """Mark conversations as considered, so `grow_holdout` never draws them (they were trained on)."""
    path = Path(path)
    state = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"conversations": [], "considered": []}
    before = set(state.get("considered", []))
    if conversation_ids <= before:
        return
    state["considered"] = sorted(before | set(conversation_ids))
    _write_state(path, state)


def _write_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".holdout-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(state, out, indent=1)
    os.replace(tmp, path)


def _unit_hash(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) / 16**12


def write_jsonl(path: Path, rows) -> int:
    """Write dict rows as JSON Lines (atomically); returns how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    count = 0
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    os.replace(tmp, path)
    return count
