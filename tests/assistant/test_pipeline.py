import pytest
from sqlmodel import Session, select

from assistant.errors import ConversationNotFound, InvalidInput, StoreError
from assistant.tables import Conversation, Feedback, Message


def rows(assistant, table):
    with Session(assistant.engine) as session:
        return list(session.exec(select(table).order_by(table.id)))  # PostgreSQL keeps no insertion order


def test_a_turn_is_answered_and_stored(store_assistant):
    reply = store_assistant.reply(None, "How much does shipping cost?")
    assert reply.action in ("answer", "clarify") and reply.text
    assert reply.sources and reply.message_id > reply.customer_message_id > 0
    customer, bot = rows(store_assistant, Message)
    assert customer.role == "customer" and customer.text == "How much does shipping cost?"
    assert customer.intent == reply.intent and customer.retrieved[0]["id"] == reply.sources[0][0]
    assert bot.role == "bot" and bot.text == reply.text and bot.model_versions == {"router": "v0001", "index": "v0001"}
    follow = store_assistant.reply(reply.conversation_id, "thanks!")
    assert follow.conversation_id == reply.conversation_id and len(rows(store_assistant, Message)) == 4


def test_personal_data_never_reaches_the_store(fake_assistant):
    fake_assistant.reply(None, "my phone is 13800138000 and mail jane@example.com, card 4111111111111111")
    stored = rows(fake_assistant, Message)[0]
    assert stored.text == "my phone is [PHONE] and mail [EMAIL], card [CARD]"
    assert stored.pii_found == ["phone", "email", "card"]
    assert "13800138000" not in str(stored.entities)


def test_a_number_across_the_length_limit_is_masked_before_the_cut(fake_assistant):
    reply = fake_assistant.reply(None, "y" * 1992 + " 13800138000 and more text")
    stored = rows(fake_assistant, Message)[0]
    assert reply.notices and stored.truncated
    assert "1380" not in stored.text and stored.pii_found == ["phone"]


def test_empty_message_gets_a_prompt_and_stores_nothing(fake_assistant):
    reply = fake_assistant.reply(None, " \x00 ")
    assert reply.action == "prompt" and "question" in reply.text and reply.conversation_id is None
    assert rows(fake_assistant, Message) == [] and rows(fake_assistant, Conversation) == []
    started = fake_assistant.reply(None, "hi")
    again = fake_assistant.reply(started.conversation_id, "")
    assert again.conversation_id == started.conversation_id and len(rows(fake_assistant, Message)) == 2
    chinese = fake_assistant.reply(None, "你好")
    assert fake_assistant.reply(chinese.conversation_id, "   ").text.startswith("您好")


def test_huge_message_is_cut_with_a_notice(fake_assistant):
    reply = fake_assistant.reply(None, "where is my order " * 300)
    assert reply.notices and "2000" in reply.notices[0]
    stored = rows(fake_assistant, Message)[0]
    assert stored.truncated and len(stored.text) <= 2000


def test_asking_for_a_human_escalates_and_the_bot_then_holds(fake_assistant):
    reply = fake_assistant.reply(None, "I want to talk to a human agent now")
    assert reply.escalated and reply.action == "escalate" and reply.status == "escalated"
    assert "agent" in reply.text
    later = fake_assistant.reply(reply.conversation_id, "hello? anyone?")
    assert later.action == "hold" and later.escalated and later.text == "" and later.message_id == 0
    assert [m.role for m in rows(fake_assistant, Message)][-1] == "customer"  # stored; the bot stays silent
    conversation = rows(fake_assistant, Conversation)[0]
    assert conversation.status == "escalated" and "human" in conversation.escalation_reason


def test_chinese_escalation_is_answered_in_chinese(fake_assistant):
    reply = fake_assistant.reply(None, "转人工！！")
    assert reply.escalated and reply.lang == "zh" and "客服" in reply.text


def test_feedback_is_stored_for_own_replies_only(fake_assistant):
    reply = fake_assistant.reply(None, "hi")
    other = fake_assistant.reply(None, "hello")
    fake_assistant.feedback(reply.conversation_id, reply.message_id, -1, comment="call me 13800138000")
    with pytest.raises(InvalidInput):
        fake_assistant.feedback(other.conversation_id, reply.message_id, 1)
    (feedback,) = rows(fake_assistant, Feedback)
    assert feedback.rating == -1 and feedback.comment == "call me [PHONE]"


def test_unknown_conversation_is_refused(fake_assistant):
    with pytest.raises(ConversationNotFound):
        fake_assistant.reply("no-such-id", "hi")


def test_a_failing_database_loses_nothing_half_written(store_assistant, monkeypatch):
    first = store_assistant.reply(None, "hi")

    def broken(*args, **kwargs):
        from sqlalchemy.exc import OperationalError

        raise OperationalError("INSERT", {}, Exception("database or disk is full"))

    monkeypatch.setattr("assistant.store.save_turn", broken)
    with pytest.raises(StoreError, match="disk is full"):
        store_assistant.reply(first.conversation_id, "where is my order?")
    monkeypatch.undo()
    assert len(rows(store_assistant, Message)) == 2


def test_concurrent_customers_lose_no_turn(store_assistant):
    from concurrent.futures import ThreadPoolExecutor

    def customer(n):
        conversation = None
        for turn in range(5):
            conversation = store_assistant.reply(conversation, f"customer {n} asks about shipping, turn {turn}").conversation_id
        return conversation

    with ThreadPoolExecutor(max_workers=8) as pool:
        conversations = list(pool.map(customer, range(8)))
    assert len(set(conversations)) == 8
    stored = rows(store_assistant, Message)
    assert sum(m.role == "customer" for m in stored) == 8 * 5  # every turn stored (the bot is silent on hold)
    for conversation in conversations:
        texts = [m.text for m in stored if m.conversation_id == conversation and m.role == "customer"]
        assert [t.rsplit(" ", 1)[1] for t in texts] == ["0", "1", "2", "3", "4"]


def test_an_agent_taking_over_mid_turn_is_not_undone(store_assistant, monkeypatch):
    from assistant import store

    first = store_assistant.reply(None, "hi")
    original = store.recent_turns

    def agent_takes_over_meanwhile(session, *, conversation_id, limit=5):
        actions = original(session, conversation_id=conversation_id, limit=limit)
        with store.transaction(store_assistant.engine) as other:
            store.get_conversation(other, conversation_id=conversation_id).status = "agent"
        return actions

    monkeypatch.setattr(store, "recent_turns", agent_takes_over_meanwhile)
    reply = store_assistant.reply(first.conversation_id, "how much is shipping?")
    assert reply.action == "hold" and reply.status == "agent" and reply.escalated
    assert rows(store_assistant, Conversation)[0].status == "agent"


def test_the_customers_button_escalates_and_agent_messages_can_be_polled(store_assistant):
    from assistant import store

    first = store_assistant.reply(None, "你好")
    pressed = store_assistant.request_human(first.conversation_id)
    assert pressed.escalated and pressed.status == "escalated" and "客服" in pressed.text  # the conversation's language
    again = store_assistant.request_human(first.conversation_id)
    assert again.action == "hold"
    with store.transaction(store_assistant.engine) as session:
        conversation = store.get_conversation(session, conversation_id=first.conversation_id)
        store.add_message(session, conversation=conversation, status="agent",
                          message=Message(role="agent", text="您好，我是客服小李"))
    status, new = store_assistant.messages_after(first.conversation_id, again.message_id)
    assert status == "agent" and [(m.role, m.text) for m in new] == [("agent", "您好，我是客服小李")]
    assert store_assistant.reply(first.conversation_id, "好的").action == "hold"
    fresh = store_assistant.request_human(None)
    assert fresh.conversation_id and fresh.escalated


def test_the_announced_wait_grows_with_the_queue(store_assistant):
    first = store_assistant.request_human(None)
    second = store_assistant.request_human(None)
    assert "about 3 minutes" in first.text and "about 6 minutes" in second.text
