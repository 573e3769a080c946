import pytest
from sqlmodel import Session, select

from assistant import desk, store
from assistant.errors import InvalidInput
from assistant.tables import AgentAction, Conversation, Message


def test_passwords_are_salted_and_checked():
    first, second = desk.hash_password("correct horse"), desk.hash_password("correct horse")
    assert first != second and first.startswith("scrypt$") and "correct" not in first
    assert desk.verify_password("correct horse", first) and not desk.verify_password("wrong horse", first)
    assert not desk.verify_password("x", "garbage")


@pytest.fixture
def desk_setup(store_assistant):
    angry = store_assistant.reply(None, "I want to talk to a human agent now")
    calm = store_assistant.reply(None, "hi")
    store_assistant.request_human(calm.conversation_id)
    with store.transaction(store_assistant.engine) as session:
        desk.add_agent(session, name="lin", password="s3cret-pass")
        conversation = store.get_conversation(session, conversation_id=angry.conversation_id)
        conversation.escalation_reason = "strongly negative sentiment (0.97)"
    return store_assistant, angry.conversation_id, calm.conversation_id


def test_accounts(desk_setup):
    assistant, _, _ = desk_setup
    with store.transaction(assistant.engine) as session:
        assert desk.authenticate(session, name="lin", password="s3cret-pass").name == "lin"
        assert desk.authenticate(session, name="lin", password="nope") is None
        assert desk.authenticate(session, name="nobody", password="s3cret-pass") is None
        with pytest.raises(InvalidInput, match="exists"):
            desk.add_agent(session, name="lin", password="another-pass")
        with pytest.raises(InvalidInput, match="8 characters"):
            desk.add_agent(session, name="kim", password="short")


def test_queue_takeover_reply_correct_handback_resolve_all_logged(desk_setup):
    assistant, angry, calm = desk_setup
    with store.transaction(assistant.engine) as session:
        items = desk.queue(session)
    assert [i.conversation_id for i in items] == [angry, calm]  # the angry customer first
    assert items[0].severity == 3 and items[0].last_message.startswith("I want to talk")

    with store.transaction(assistant.engine) as session:
        desk.take_over(session, agent_name="lin", conversation_id=angry)
        sent = desk.reply(session, agent_name="lin", conversation_id=angry, text="Hi, call me on 13800138000")
    assert assistant.conversation_status(angry) == "agent"
    status, new = assistant.messages_after(angry, sent.id - 1)
    assert [(m.role, m.text) for m in new] == [("agent", "Hi, call me on [PHONE]")]  # masked like everything
    assert assistant.reply(angry, "thanks").action == "hold"  # the bot stays silent

    customer = next(m for m in assistant.transcript(angry) if m.role == "customer")
    with store.transaction(assistant.engine) as session:
        desk.correct(session, agent_name="lin", message_id=customer.id, intent="complaint", sentiment="negative",
                     intents=assistant.knowledge.intent_names)
        with pytest.raises(InvalidInput):
            desk.correct(session, agent_name="lin", message_id=customer.id, intent="nonsense",
                         intents=assistant.knowledge.intent_names)
        with pytest.raises(InvalidInput):
            desk.correct(session, agent_name="lin", message_id=sent.id, sentiment="negative")
        desk.set_status(session, agent_name="lin", conversation_id=angry, status="bot")
    assert assistant.reply(angry, "how much is shipping?").action != "hold"  # handed back: the bot answers
    with store.transaction(assistant.engine) as session:
        desk.set_status(session, agent_name="lin", conversation_id=angry, status="resolved")
        with pytest.raises(InvalidInput):
            desk.set_status(session, agent_name="lin", conversation_id=angry, status="escalated")

    with Session(assistant.engine) as session:
        logged = [(a.action, a.detail) for a in session.exec(select(AgentAction).order_by(AgentAction.id))]
        corrected = session.get(Message, customer.id)
        assert session.get(Conversation, angry).status == "resolved"
    assert [a for a, _ in logged] == ["take_over", "reply", "correct", "hand_back", "resolve"]
    assert logged[2][1]["intent"]["to"] == "complaint" and corrected.corrected_intent == "complaint"
    assert logged[2][1]["intent"]["from"] == corrected.intent and logged[2][1]["sentiment"]["to"] == "negative"


def test_suggest_drafts_from_the_last_customer_message(desk_setup):
    assistant, angry, _ = desk_setup
    assistant.reply(angry, "how much does shipping cost?")
    suggestion = assistant.suggest(angry)
    entries = {e.answer.split("{")[0][:20] for e in assistant.knowledge.faq if e.intent == "shipping_cost"}
    assert any(suggestion.startswith(prefix) for prefix in entries if prefix), suggestion


def test_an_agent_introduces_an_intent_on_purpose_only(desk_setup):
    assistant, angry, _ = desk_setup
    base = assistant.knowledge.intent_names
    customer = next(m for m in assistant.transcript(angry) if m.role == "customer")
    with store.transaction(assistant.engine) as session:
        with pytest.raises(InvalidInput, match="add it as a new intent"):
            desk.correct(session, agent_name="lin", message_id=customer.id, intent="gift_cards", intents=base)
        with pytest.raises(InvalidInput, match="lowercase letters"):
            desk.correct(session, agent_name="lin", message_id=customer.id, intent="Gift Cards!", intents=base,
                         new_intent=True)
        desk.correct(session, agent_name="lin", message_id=customer.id, intent="gift_cards", intents=base,
                     new_intent=True)
    with store.transaction(assistant.engine) as session:
        known = desk.known_intents(session, base)
        logged = desk.actions(session, conversation_id=angry)[-1]
    assert "gift_cards" in known and set(base) < set(known)
    assert logged.detail["new_intent"] is True and logged.detail["intent"]["to"] == "gift_cards"


def test_an_approved_answer_waits_to_be_added_and_a_new_wording_waits_again(desk_setup):
    assistant, angry, calm = desk_setup
    question = next(m for m in assistant.transcript(calm) if m.role == "customer")
    with store.transaction(assistant.engine) as session:
        with pytest.raises(InvalidInput, match="empty"):
            desk.approve_answer(session, agent_name="lin", message_id=question.id, answer="   ")
        with pytest.raises(InvalidInput, match="personal data"):
            desk.approve_answer(session, agent_name="lin", message_id=question.id, answer="Write to me at lin@shop.example")
        first = desk.approve_answer(session, agent_name="lin", message_id=question.id,
                                    answer="We  open\nat 10.", intent="contact_hours")
    assert first.answer == "We open\nat 10." and first.entry_id == f"agent-{first.id}"
    with store.transaction(assistant.engine) as session:
        pending = desk.answers_to_add(session)
        assert [a.id for a in pending] == [first.id] and pending[0].question == question.text
        assert desk.mark_added(session, added=pending, index_version="v9") == 1
    with store.transaction(assistant.engine) as session:
        assert desk.answers_to_add(session) == []
        again = desk.approve_answer(session, agent_name="lin", message_id=question.id, answer="We open at 9.")
    assert again.id == first.id and again.intent == question.intent  # the same entry, a new wording
    with store.transaction(assistant.engine) as session:
        pending = desk.answers_to_add(session)  # what a turn imports
    assert [a.answer for a in pending] == ["We open at 9."]
    with store.transaction(assistant.engine) as session:
        # Approved again between the import and the marking: that wording stays to add.
        desk.approve_answer(session, agent_name="lin", message_id=question.id, answer="We open at 8.")
    with store.transaction(assistant.engine) as session:
        assert desk.mark_added(session, added=pending, index_version="v10") == 0
        assert [a.answer for a in desk.answers_to_add(session)] == ["We open at 8."]
