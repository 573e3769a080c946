"""The conversation store: the engine, its migrations, and keyword-only CRUD functions.

SQLite under ASSISTANT_HOME by default, PostgreSQL (or any SQLAlchemy database) through the same code
when `ASSISTANT_DATABASE_URL` names one.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine, select

from assistant.errors import ConversationNotFound, InvalidInput, StoreError
from assistant.access import KEY_PREFIX, hash_secret, new_secret
from assistant.settings import Settings
from assistant.tables import CONVERSATION_STATUSES, ApiKey, Conversation, Feedback, Message, utcnow

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Row ids are 32-bit integers in every database the store runs on (PostgreSQL refuses a larger one outright).
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Pool:
    """How a server database's connections are pooled and (re)opened: the db_* settings."""

    size: int
    max_overflow: int
    timeout: float
    recycle: int
    connect_retries: int
    retry_seconds: float
    connect_timeout: int

    @classmethod
    def of(cls, settings: Settings | None = None) -> "Pool":
        """The pool `settings` ask for; without settings, their defaults (the environment is not read)."""
        s = settings or Settings.model_construct()
        return cls(size=s.db_pool_size, max_overflow=s.db_max_overflow, timeout=s.db_pool_timeout,
                   recycle=s.db_pool_recycle, connect_retries=s.db_connect_retries, retry_seconds=s.db_retry_seconds,
                   connect_timeout=s.db_connect_timeout)


def engine_for(settings: Settings) -> Engine:
    """The engine of the configured database, pooled as the settings say."""
    return make_engine(settings.db_url, Pool.of(settings))


def make_engine(url: str, pool: Pool | None = None) -> Engine:
    """An engine for `url`; SQLite gets WAL journaling and enforced foreign keys, a server database a pool
    whose connections are checked before use (a restarted database is reconnected to, not reported) and
    opened again a few times when opening fails."""
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        if not in_memory:
            Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               poolclass=StaticPool if in_memory else None)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                # WAL: a crash between turns cannot lose a committed turn, and readers never block the writer.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    pool = pool or Pool.of()
    connect_args = {"connect_timeout": pool.connect_timeout} if url.startswith("postgresql") else {}
    engine = create_engine(url, pool_pre_ping=True, pool_size=pool.size, max_overflow=pool.max_overflow,
                           pool_timeout=pool.timeout, pool_recycle=pool.recycle, connect_args=connect_args)

    @event.listens_for(engine, "do_connect")
    def _connect_with_retries(dialect, _record, cargs, cparams):
        # Retries for a database that refuses while it restarts, all within one connect timeout: a host that does
        # not answer at all uses the timeout up once, not once per retry (request threads would pile up).
        deadline = time.monotonic() + pool.connect_timeout
        for attempt in range(pool.connect_retries + 1):
            try:
                return dialect.connect(*cargs, **cparams)
            except dialect.loaded_dbapi.OperationalError:
                wait = pool.retry_seconds * 2 ** attempt
                if attempt == pool.connect_retries or time.monotonic() + wait >= deadline:
                    raise
                time.sleep(wait)

    return engine


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database's schema to `revision` through the ordered migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as connection:
            if sqlite:
                # SQLite alters a table by copying it; with foreign keys enforced, dropping the old copy
                # fails while other tables point at it. The check afterwards proves nothing was broken.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
                if broken:
                    raise StoreError(f"migration left rows pointing at nothing: {broken[:5]}")
    except SQLAlchemyError as exc:
        raise StoreError(f"could not migrate the database at {engine.url!r}: {exc.__class__.__name__}: "
                         f"{exc.orig if hasattr(exc, 'orig') else exc}") from exc


@contextmanager
def transaction(engine: Engine):
    """A session whose work is committed together or not at all; database errors become StoreError."""
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
            session.commit()
    except SQLAlchemyError as exc:
        raise StoreError(f"the database refused the write ({exc.__class__.__name__}: "
                         f"{getattr(exc, 'orig', exc)}); nothing of this turn was saved") from exc


def ping(engine: Engine) -> None:
    """One round trip to the database; StoreError when it does not answer."""
    with transaction(engine) as session:
        session.exec(select(1)).one()


def create_conversation(session: Session, *, channel: str = "web", lang: str | None = None,
                        token_hash: str | None = None, api_key_id: int | None = None) -> Conversation:
    conversation = Conversation(channel=channel, lang=lang, token_hash=token_hash, api_key_id=api_key_id)
    session.add(conversation)
    session.flush()
    return conversation


def get_conversation(session: Session, *, conversation_id: str, lock: bool = False) -> Conversation:
    """The conversation; `lock` holds it (SELECT ... FOR UPDATE where the database has it) until commit."""
    conversation = session.get(Conversation, conversation_id, with_for_update=lock or None)
    if conversation is None:
        raise ConversationNotFound(f"no conversation with id {conversation_id!r}: start a new one")
    return conversation


def save_turn(session: Session, *, conversation: Conversation, customer: Message, reply: Message | None,
              status: str, escalation_reason: str | None = None) -> tuple[Message, Message | None]:
    """Add a customer message and its reply (None: the bot stays silent, an agent owns the conversation),
    and update the conversation, in the caller's transaction."""
    if status not in CONVERSATION_STATUSES:
        raise InvalidInput(f"conversation status {status!r} is not one of {CONVERSATION_STATUSES}")
    customer.conversation_id = conversation.id
    session.add(customer)
    session.flush()  # the customer message gets the lower id, so transcripts order by id
    if reply is not None:
        reply.conversation_id = conversation.id
        session.add(reply)
    conversation.status = status
    conversation.updated_at = utcnow()
    if escalation_reason:
        conversation.escalation_reason = escalation_reason[:200]
    if conversation.lang is None:
        conversation.lang = customer.lang
    session.add(conversation)
    session.flush()
    return customer, reply


def add_message(session: Session, *, conversation: Conversation, message: Message, status: str | None = None,
                escalation_reason: str | None = None) -> Message:
    """Add one message (a notice, an agent's reply) and optionally move the conversation to `status`."""
    if status is not None and status not in CONVERSATION_STATUSES:
        raise InvalidInput(f"conversation status {status!r} is not one of {CONVERSATION_STATUSES}")
    message.conversation_id = conversation.id
    session.add(message)
    conversation.status = status or conversation.status
    conversation.updated_at = utcnow()
    if escalation_reason:
        conversation.escalation_reason = escalation_reason[:200]
    session.add(conversation)
    session.flush()
    return message


def list_messages(session: Session, *, conversation_id: str, after_id: int = 0) -> list[Message]:
    """A conversation's messages in order, optionally only those after a message id."""
    query = select(Message).where(Message.conversation_id == conversation_id, Message.id > after_id)
    return list(session.exec(query.order_by(Message.id)))


def recent_turns(session: Session, *, conversation_id: str, limit: int = 5) -> list[tuple[str | None, bool]]:
    """(the bot's action, whether the customer's message was out of scope) of the latest turns, oldest first."""
    rows = list(session.exec(select(Message).where(Message.conversation_id == conversation_id,
                                                   Message.role.in_(("customer", "bot")))
                             .order_by(Message.id.desc()).limit(4 * limit)))
    turns, answered_by = [], None
    for message in rows:  # newest first: a customer message is answered by the bot message after it
        if message.role == "bot":
            answered_by = message.action
        else:
            turns.append((answered_by, bool(message.out_of_scope)))
            answered_by = None
    return list(reversed(turns[:limit]))


def count_waiting(session: Session) -> int:
    """Conversations escalated and not yet taken by an agent."""
    return int(session.exec(select(func.count()).select_from(Conversation).where(Conversation.status == "escalated")).one())


def add_feedback(session: Session, *, conversation_id: str, message_id: int, rating: int,
                 comment: str | None = None) -> Feedback:
    """Store a customer's rating of one bot reply of their own conversation (the latest rating counts)."""
    if rating not in (1, -1):
        raise InvalidInput(f"rating must be 1 (thumbs up) or -1 (thumbs down), got {rating!r}")
    message = session.get(Message, message_id)
    if message is None or message.conversation_id != conversation_id or message.role != "bot":
        raise InvalidInput(f"message {message_id} is not a reply of conversation {conversation_id}")
    feedback = Feedback(conversation_id=conversation_id, message_id=message_id, rating=rating, comment=comment)
    session.add(feedback)
    session.flush()
    return feedback


def count_rows(session: Session, table) -> int:
    return int(session.exec(select(func.count()).select_from(table)).one())


def create_api_key(session: Session, *, name: str, origins: list[str] | None = None) -> tuple[ApiKey, str]:
    """A new shop key; returns the row and the key itself, which is stored only as its hash."""
    name = name.strip()
    if not name:
        raise InvalidInput("a key needs a name (the shop or site it is for)")
    if session.exec(select(ApiKey).where(ApiKey.name == name)).first():
        raise InvalidInput(f"a key named {name!r} exists already (names stay taken after revocation): choose another name")
    key, key_hash = new_secret(KEY_PREFIX)
    row = ApiKey(name=name, key_hash=key_hash, prefix=key[:len(KEY_PREFIX) + 4], origins=origins or [])
    session.add(row)
    session.flush()
    return row, key


def find_api_key(session: Session, *, key: str) -> ApiKey | None:
    """The active (not revoked) key row for a presented key, or None."""
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_secret(key))).first()
    return row if row is not None and row.revoked_at is None else None


def revoke_api_key(session: Session, *, name: str) -> ApiKey:
    row = session.exec(select(ApiKey).where(ApiKey.name == name)).first()
    if row is None:
        raise InvalidInput(f"no key named {name!r}: `assistant keys list` shows them")
    row.revoked_at = row.revoked_at or utcnow()
    session.add(row)
    return row


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(ApiKey.id)))
