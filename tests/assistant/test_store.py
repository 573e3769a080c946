import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, select

from assistant import store
from assistant.errors import InvalidInput, StoreError
from assistant.tables import Conversation, Feedback, Message, as_utc


def test_migrations_create_exactly_the_tables_of_the_models(engine):
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []
    columns = {c["name"] for c in inspect(engine).get_columns("message")}
    assert {"text", "intent", "intent_confidence", "sentiment", "sentiment_score", "retrieved", "source",
            "model_versions", "latency_ms"} <= columns


def test_a_turn_is_written_together_or_not_at_all(engine):
    with store.transaction(engine) as session:
        conversation = store.create_conversation(session)
    with pytest.raises(StoreError, match="nothing of this turn was saved"):
        with store.transaction(engine) as session:
            conv = store.get_conversation(session, conversation_id=conversation.id)
            store.save_turn(session, conversation=conv, status="bot",
                            customer=Message(role="customer", text="hi"),
                            reply=Message(role="bot", text=None))  # NOT NULL violated on the second row
    with Session(engine) as session:
        assert store.count_rows(session, Message) == 0
        assert session.get(Conversation, conversation.id).status == "bot"


def test_feedback_only_on_own_bot_replies(engine):
    with store.transaction(engine) as session:
        a = store.create_conversation(session)
        b = store.create_conversation(session)
        customer, reply = store.save_turn(session, conversation=a, status="bot",
                                          customer=Message(role="customer", text="hi"),
                                          reply=Message(role="bot", text="hello"))
    with store.transaction(engine) as session:
        store.add_feedback(session, conversation_id=a.id, message_id=reply.id, rating=-1)
        with pytest.raises(InvalidInput):
            store.add_feedback(session, conversation_id=b.id, message_id=reply.id, rating=1)
        with pytest.raises(InvalidInput):
            store.add_feedback(session, conversation_id=a.id, message_id=customer.id, rating=1)
        with pytest.raises(InvalidInput):
            store.add_feedback(session, conversation_id=a.id, message_id=reply.id, rating=5)
    with Session(engine) as session:
        assert store.count_rows(session, Feedback) == 1


def test_a_killed_process_loses_no_answered_turn(database_url):
    url = database_url
    script = textwrap.dedent(f"""
        import os, signal
        from assistant import store
        from assistant.tables import Message
        engine = store.make_engine({url!r})
        store.migrate(engine)
        with store.transaction(engine) as session:
            conversation = store.create_conversation(session)
            store.save_turn(session, conversation=conversation, status="bot",
                            customer=Message(role="customer", text="where is my order"),
                            reply=Message(role="bot", text="on its way"))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == -9
    with Session(store.make_engine(url)) as session:
        assert store.count_rows(session, Message) == 2


def test_postgres_urls_use_psycopg3():
    from assistant.settings import Settings

    assert Settings(database_url="postgresql://shop@db/assistant").db_url == "postgresql+psycopg://shop@db/assistant"


def test_upgrading_a_first_version_database_keeps_its_data(database_url):
    """A database of schema 0001 with conversations, messages and ratings in it, upgraded to the newest
    schema: every row and value is still there, the new columns are empty, and it takes new turns."""
    from sqlalchemy import text

    engine = store.make_engine(database_url)
    store.migrate(engine, "0001")
    conversations = [{"id": f"c{i}", "channel": "web", "status": status, "lang": lang, "reason": reason,
                      "at": datetime(2026, 1, 1 + i, 9, tzinfo=timezone.utc)}
                     for i, (status, lang, reason) in enumerate([("bot", "en", None), ("escalated", "zh", "angry"),
                                                                 ("agent", "en", "asked for a person")])]
    messages = [{"conversation_id": f"c{i % 3}", "role": ("customer", "bot")[i % 2], "text": f"message {i} 订单",
                 "intent": "order_status" if i % 2 == 0 else None, "confidence": 0.5 + i / 100,
                 "retrieved": json.dumps([{"id": "faq-1", "score": 0.9}]), "truncated": i == 4,
                 "at": datetime(2026, 1, 5, 10, i, tzinfo=timezone.utc)} for i in range(12)]
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO conversation (id, channel, status, lang, escalation_reason, created_at, "
                                "updated_at) VALUES (:id, :channel, :status, :lang, :reason, :at, :at)"), conversations)
        connection.execute(text("INSERT INTO message (conversation_id, role, text, intent, intent_confidence, retrieved, "
                                "truncated, created_at) VALUES (:conversation_id, :role, :text, :intent, :confidence, "
                                ":retrieved, :truncated, :at)"), messages)
        bot_ids = [row[0] for row in connection.execute(text("SELECT id FROM message WHERE role = 'bot' ORDER BY id"))]
        connection.execute(text("INSERT INTO feedback (message_id, conversation_id, rating, created_at) "
                                "SELECT id, conversation_id, -1, created_at FROM message WHERE id = :id"),
                           [{"id": bot_ids[0]}])
    store.migrate(engine)
    with Session(engine) as session:
        for row in conversations:
            conversation = session.get(Conversation, row["id"])
            assert (conversation.status, conversation.lang, conversation.escalation_reason) == (
                row["status"], row["lang"], row["reason"])
            assert as_utc(conversation.created_at) == row["at"]  # PostgreSQL answers in the session's time zone
            assert conversation.token_hash is None and conversation.api_key_id is None  # added by 0002
        kept = list(session.exec(select(Message).order_by(Message.id)))
        assert [(m.conversation_id, m.role, m.text, m.intent, m.truncated) for m in kept] == [
            (m["conversation_id"], m["role"], m["text"], m["intent"], m["truncated"]) for m in messages]
        assert [m.intent_confidence for m in kept] == pytest.approx([m["confidence"] for m in messages])
        assert all(m.retrieved == [{"id": "faq-1", "score": 0.9}] and m.corrected_intent is None for m in kept)
        assert [(f.message_id, f.rating) for f in session.exec(select(Feedback))] == [(bot_ids[0], -1)]
    with store.transaction(engine) as session:  # and the upgraded database takes new turns
        customer, reply = store.save_turn(session, conversation=session.get(Conversation, "c0"), status="bot",
                                          customer=Message(role="customer", text="and now?"),
                                          reply=Message(role="bot", text="still here"))
    assert customer.id > max(m.id for m in kept) and reply.id == customer.id + 1
    engine.dispose()


def test_pool_and_connect_retries_are_settings():
    from assistant.settings import Settings

    pool = store.Pool.of(Settings(db_pool_size=3, db_max_overflow=1, db_connect_retries=4, db_retry_seconds=0.5))
    assert (pool.size, pool.max_overflow, pool.connect_retries, pool.retry_seconds) == (3, 1, 4, 0.5)
    assert store.Pool.of() == store.Pool.of(Settings())  # without settings: their defaults
    engine = store.make_engine("postgresql+psycopg://shop@db.invalid/assistant", pool)
    assert (engine.pool.size(), engine.pool._max_overflow) == (3, 1)


@pytest.mark.parametrize("failures, retries, opens", [(2, 2, True), (2, 1, False)])
def test_opening_a_connection_is_retried_while_the_database_restarts(postgres_url, monkeypatch, failures, retries,
                                                                    opens):
    import psycopg

    real, calls = psycopg.connect, []

    def restarting(*args, **kwargs):
        calls.append(1)
        if len(calls) <= failures:
            raise psycopg.OperationalError("the database system is starting up")
        return real(*args, **kwargs)

    monkeypatch.setattr(psycopg, "connect", restarting)
    engine = store.make_engine(postgres_url, replace(store.Pool.of(), connect_retries=retries, retry_seconds=0.01))
    if opens:
        store.ping(engine)
    else:
        with pytest.raises(StoreError, match="starting up"):
            store.ping(engine)
    assert len(calls) == min(failures + 1, retries + 1)
    engine.dispose()
