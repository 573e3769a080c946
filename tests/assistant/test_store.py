import subprocess
import sys
import textwrap

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel

from assistant import store
from assistant.errors import InvalidInput, StoreError
from assistant.tables import Conversation, Feedback, Message


@pytest.fixture
def engine():
    engine = store.make_engine("sqlite://")
    store.migrate(engine)
    return engine


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


def test_a_killed_process_loses_no_answered_turn(tmp_path):
    url = f"sqlite:///{tmp_path / 'crash.db'}"
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


def test_upgrading_a_first_version_database_keeps_its_data(tmp_path):
    from sqlalchemy import text

    engine = store.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    store.migrate(engine, "0001")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO conversation (id, channel, status, created_at, updated_at) "
                                "VALUES ('c1', 'web', 'escalated', '2026-01-01', '2026-01-01')"))
        connection.execute(text("INSERT INTO message (id, conversation_id, role, text, truncated, created_at) "
                                "VALUES (1, 'c1', 'customer', 'where is my order', 0, '2026-01-01')"))
    store.migrate(engine)
    with Session(engine) as session:
        conversation = session.get(Conversation, "c1")
        assert conversation.status == "escalated" and conversation.token_hash is None
        assert [m.text for m in store.list_messages(session, conversation_id="c1")] == ["where is my order"]
