"""The agents' desk: accounts, the queue of escalated conversations, and every agent action, logged.

Each action is one transaction that changes the conversation and writes an `AgentAction` row (who,
when, what): those rows, the agents' replies and their label corrections are the training data of
the learning loop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from assistant import store
from assistant.errors import InvalidInput
from assistant.pii import mask
from assistant.tables import Agent, AgentAction, ApprovedAnswer, Conversation, Message, utcnow
from assistant.text import clean_text, cut
from retrieval.knowledge import SENTIMENTS
from retrieval.qa_import import MAX_ANSWER_CHARS, MAX_QUESTION_CHARS

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    """A salted scrypt hash, self-describing: scrypt$n$r$p$salt$hash."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), dklen=len(expected),
                                n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return kind == "scrypt" and hmac.compare_digest(actual, expected)


def add_agent(session: Session, *, name: str, password: str) -> Agent:
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput("an agent name must have 1 to 64 characters")
    if len(password) < 8:
        raise InvalidInput("the password must have at least 8 characters")
    if session.exec(select(Agent).where(Agent.name == name)).first():
        raise InvalidInput(f"an agent named {name!r} exists already")
    agent = Agent(name=name, password_hash=hash_password(password))
    session.add(agent)
    session.flush()
    return agent


_DUMMY_HASH = hash_password("the same work whether the name exists or not")


def list_agents(session: Session) -> list[Agent]:
    return list(session.exec(select(Agent).order_by(Agent.name)))


def authenticate(session: Session, *, name: str, password: str) -> Agent | None:
    agent = session.exec(select(Agent).where(Agent.name == name)).first()
    if agent is None:
        verify_password(password, _DUMMY_HASH)  # one scrypt either way: timing does not tell names apart
        return None
    return agent if verify_password(password, agent.password_hash) else None


@dataclass(frozen=True)
class QueueItem:
    conversation_id: str
    status: str
    reason: str
    severity: int          # 3 angry, 2 asked for a person, 1 other
    waiting_since: datetime
    last_message: str


def severity(reason: str | None) -> int:
    reason = (reason or "").lower()
    if "negative" in reason or "complaint" in reason:
        return 3
    if "human" in reason or "person" in reason:
        return 2
    return 1


def queue(session: Session) -> list[QueueItem]:
    """Escalated and agent-owned conversations: most severe first, then longest waiting.

    Waiting counts from the escalation (its notice), so a customer who writes again keeps their place.
    """
    rows = session.exec(select(Conversation).where(Conversation.status.in_(("escalated", "agent")))).all()
    items = []
    for conversation in rows:
        messages = store.list_messages(session, conversation_id=conversation.id)
        last = next((m for m in reversed(messages) if m.role == "customer"), None)
        escalated = next((m for m in reversed(messages) if m.action == "escalate"), None)
        items.append(QueueItem(conversation.id, conversation.status, conversation.escalation_reason or "",
                               severity(conversation.escalation_reason),
                               escalated.created_at if escalated else conversation.updated_at,
                               last.text[:120] if last else ""))
    return sorted(items, key=lambda i: (i.status != "escalated", -i.severity, i.waiting_since))


def _agent(session: Session, name: str) -> Agent:
    agent = session.exec(select(Agent).where(Agent.name == name)).first()
    if agent is None:
        raise InvalidInput(f"no agent named {name!r}")
    return agent


def _log(session: Session, agent: Agent, conversation: Conversation, action: str, message_id: int | None = None,
         **detail) -> None:
    session.add(AgentAction(agent_id=agent.id, conversation_id=conversation.id, message_id=message_id, action=action,
                            detail=detail or None))


def take_over(session: Session, *, agent_name: str, conversation_id: str) -> None:
    agent = _agent(session, agent_name)
    conversation = store.get_conversation(session, conversation_id=conversation_id, lock=True)
    conversation.status, conversation.updated_at = "agent", utcnow()
    session.add(conversation)
    _log(session, agent, conversation, "take_over")


def reply(session: Session, *, agent_name: str, conversation_id: str, text: str, max_chars: int = 2000) -> Message:
    """An agent's message to the customer (masked like every stored text); the agent owns the conversation."""
    agent = _agent(session, agent_name)
    masked, _ = cut(mask(clean_text(text)).text, max_chars)
    if not masked:
        raise InvalidInput("the reply is empty")
    conversation = store.get_conversation(session, conversation_id=conversation_id, lock=True)
    message = store.add_message(session, conversation=conversation, status="agent",
                                message=Message(role="agent", text=masked, lang=conversation.lang, source="agent"))
    _log(session, agent, conversation, "reply", message.id)
    return message


def set_status(session: Session, *, agent_name: str, conversation_id: str, status: str) -> None:
    """Hand the conversation back to the bot ("bot") or close it ("resolved")."""
    if status not in ("bot", "resolved"):
        raise InvalidInput(f"an agent can hand back (bot) or resolve, not set {status!r}")
    agent = _agent(session, agent_name)
    conversation = store.get_conversation(session, conversation_id=conversation_id, lock=True)
    conversation.status, conversation.updated_at = status, utcnow()
    session.add(conversation)
    _log(session, agent, conversation, "hand_back" if status == "bot" else "resolve")


INTENT_NAME = re.compile(r"[a-z][a-z0-9_]{1,47}")


def known_intents(session: Session, base: list[str]) -> list[str]:
    """The shop's intents (`base`, from the knowledge folder) and those agents introduced since, sorted."""
    introduced = session.exec(select(Message.corrected_intent).where(Message.corrected_intent.is_not(None))
                              .distinct()).all()
    return sorted(set(base) | set(introduced))


def correct(session: Session, *, agent_name: str, message_id: int, intent: str | None = None,
            sentiment: str | None = None, intents: list[str] | None = None, new_intent: bool = False) -> Message:
    """Correct a customer message's intent and/or sentiment; the old and new labels are logged.

    `intents` are the known ones; an intent outside them is refused unless `new_intent` says the agent
    introduces it on purpose (a typo must not become a class). The learning loop adds it to the labels.
    """
    agent = _agent(session, agent_name)
    message = session.get(Message, message_id)
    if message is None or message.role != "customer":
        raise InvalidInput(f"message {message_id} is not a customer message")
    if intent is not None:
        intent = intent.strip()
        known = intents is None or intent in intents
        if not known and not new_intent:
            raise InvalidInput(f"intent {intent!r} is not one of the shop's intents: pick one, or add it as a new intent")
        if not known and not INTENT_NAME.fullmatch(intent):
            raise InvalidInput(f"a new intent needs a name of 2 to 48 lowercase letters, digits and _ "
                               f"starting with a letter (like gift_cards), got {intent!r}")
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise InvalidInput(f"sentiment {sentiment!r} is not one of {list(SENTIMENTS)}")
    conversation = store.get_conversation(session, conversation_id=message.conversation_id)
    change = {}
    if intent is not None:
        change["intent"] = {"from": message.corrected_intent or message.intent, "to": intent}
        if intents is not None and intent not in intents:
            change["new_intent"] = True
        message.corrected_intent = intent
    if sentiment is not None:
        change["sentiment"] = {"from": message.corrected_sentiment or message.sentiment, "to": sentiment}
        message.corrected_sentiment = sentiment
    session.add(message)
    _log(session, agent, conversation, "correct", message.id, **change)
    return message


def approve_answer(session: Session, *, agent_name: str, message_id: int, answer: str,
                   intent: str | None = None, order_id_pattern: str | None = None,
                   max_chars: int = MAX_ANSWER_CHARS) -> ApprovedAnswer:
    """Approve `answer` to the customer message `message_id` for the knowledge base.

    The answer will be sent to every customer who asks the same, so it may not carry one customer's
    personal data or order id (refused, saying what to remove); the question loses its order ids.
    The next learning-loop turn adds it to the FAQ index. Approving the same question again replaces
    the answer (and the entry, once added). The intent defaults to the message's (corrected) one.
    """
    agent = _agent(session, agent_name)
    message = session.get(Message, message_id)
    if message is None or message.role != "customer":
        raise InvalidInput(f"message {message_id} is not a customer message")
    masked = mask(clean_text(answer))
    if masked.found:
        raise InvalidInput(f"the answer contains personal data ({', '.join(sorted(set(masked.found)))}): it will be "
                           "sent to every customer who asks this, so remove it and approve again")
    order_id = re.compile(rf"(?<![A-Za-z0-9])(?:{order_id_pattern})(?![A-Za-z0-9])", re.IGNORECASE) \
        if order_id_pattern else None
    if order_id is not None and (named := order_id.search(masked.text)):
        raise InvalidInput(f"the answer names the order {named.group()}: write it for any customer "
                           "(\"your order\") and approve again")
    answer, _ = cut(masked.text, min(max_chars, MAX_ANSWER_CHARS))
    if not answer:
        raise InvalidInput("the answer is empty")
    question = mask(message.text).text
    question = " ".join((order_id.sub(" ", question) if order_id else question).split())[:MAX_QUESTION_CHARS]
    if not question:
        raise InvalidInput(f"message {message_id} has no text to answer")
    conversation = store.get_conversation(session, conversation_id=message.conversation_id)
    approved = session.exec(select(ApprovedAnswer).where(ApprovedAnswer.message_id == message_id)).first()
    if approved is None:
        approved = ApprovedAnswer(message_id=message_id, conversation_id=conversation.id, agent_id=agent.id,
                                  question=question, answer=answer)
    approved.answer, approved.agent_id, approved.created_at = answer, agent.id, utcnow()
    approved.intent = intent or message.corrected_intent or message.intent
    approved.lang = message.lang
    approved.added_at = None  # a new wording: the next turn updates the entry
    session.add(approved)
    session.flush()
    approved.entry_id = f"agent-{approved.id}"  # the FAQ entry's id, stable across new wordings
    _log(session, agent, conversation, "approve_answer", message.id, approved=approved.id, intent=approved.intent)
    return approved


def answers_to_add(session: Session) -> list[ApprovedAnswer]:
    """Approved answers not yet in the FAQ index, oldest first."""
    return list(session.exec(select(ApprovedAnswer).where(ApprovedAnswer.added_at.is_(None))
                             .order_by(ApprovedAnswer.id)))


def mark_added(session: Session, *, added: list[ApprovedAnswer], index_version: str) -> int:
    """Record that these approved answers are entries (`entry_id`) of the index version `index_version`.

    One conditional UPDATE per answer: an answer approved again meanwhile (a newer `created_at`) stays
    to add, whichever commits first. Returns how many were marked.
    """
    marked = 0
    for snapshot in added:
        result = session.execute(
            update(ApprovedAnswer)
            .where(ApprovedAnswer.id == snapshot.id, ApprovedAnswer.created_at == snapshot.created_at,
                   ApprovedAnswer.added_at.is_(None))
            .values(entry_id=snapshot.entry_id, index_version=index_version, added_at=utcnow()))
        marked += result.rowcount
    return marked


def actions(session: Session, *, conversation_id: str) -> list[AgentAction]:
    return list(session.exec(select(AgentAction).where(AgentAction.conversation_id == conversation_id)
                             .order_by(AgentAction.id)))
