"""Answers agents approve become FAQ entries (with the intents they introduced), and the bot answers with them."""

import pytest

from assistant import desk, store
from assistant.errors import InvalidInput
from assistant.pipeline import Assistant
from assistant.registry import Registry
from retrieval.faq_index import read_entries
from tests.conftest import HashEmbedder
from ui.index_versions import add_approved_answers


def test_an_approved_answer_to_a_new_topic_is_indexed_and_answers_the_next_customer(fake_assistant):
    bot = fake_assistant
    question = "Do you sell gift cards, and can I send one by email?"
    asked = bot.reply(None, question)
    with store.transaction(bot.engine) as session:
        desk.add_agent(session, name="lin", password="s3cret-pass")
        message = next(m for m in store.list_messages(session, conversation_id=asked.conversation_id)
                       if m.role == "customer")
        desk.correct(session, agent_name="lin", message_id=message.id, intent="gift_cards",
                     intents=bot.knowledge.intent_names, new_intent=True)
        pattern = bot.knowledge.shop.order_id_pattern
        with pytest.raises(InvalidInput, match="personal data"):  # sent to every customer: no one's phone number
            desk.approve_answer(session, agent_name="lin", message_id=message.id, order_id_pattern=pattern,
                                answer="Yes, call me on 13800138000")
        with pytest.raises(InvalidInput, match="names the order MM20261104"):
            desk.approve_answer(session, agent_name="lin", message_id=message.id, order_id_pattern=pattern,
                                answer="Yes, and your order MM20261104 has one")
        approved = desk.approve_answer(session, agent_name="lin", message_id=message.id, order_id_pattern=pattern,
                                       answer="Yes: e-gift cards from 10 to 500 yuan, sent by email. "
                                              "Questions? Write to {support_email}.")
    registry = Registry(bot.settings.models_dir)
    before = registry.active_version("index")

    result = add_approved_answers(bot.settings, bot.knowledge, bot.engine, embedder=HashEmbedder(),
                                  log=lambda _: None, progress=False)
    assert result["added"] == 1 and result["marked"] == 1 and result["version"] != f"index/{before}"
    assert result["skipped"] == []
    entry = next(e for e in read_entries(registry.active_folder("index")).values() if e.id == approved.entry_id)
    assert entry.intent == "gift_cards"  # the agent's new intent is kept, not dropped as unknown
    assert "{support_email}" in entry.answer
    # Nothing left to add: a second turn changes nothing.
    assert add_approved_answers(bot.settings, bot.knowledge, bot.engine, embedder=HashEmbedder(),
                                log=lambda _: None, progress=False) == {"added": 0, "version": None}

    fresh = Assistant(bot.settings, embedder=HashEmbedder())
    reply = fresh.reply(None, question)
    assert reply.action == "answer" and reply.template_id == approved.entry_id
    assert reply.text.startswith("Yes: e-gift cards") and "{support_email}" not in reply.text

    # A second customer asks the same: its approved answer repeats the entry and is reported, not added.
    second = bot.reply(None, question)
    with store.transaction(bot.engine) as session:
        duplicate = desk.approve_answer(session, agent_name="lin", message_id=second.customer_message_id,
                                        answer="Yes, we do.")
    skipped = add_approved_answers(bot.settings, bot.knowledge, bot.engine, embedder=HashEmbedder(),
                                   log=lambda _: None, progress=False)["skipped"]
    assert skipped == [{"approved": duplicate.id, "question": question, "repeats": approved.entry_id}]

    # A new wording replaces the entry's answer on the next turn (the same id, not a second entry).
    with store.transaction(bot.engine) as session:
        desk.approve_answer(session, agent_name="lin", message_id=message.id, answer="Yes, from 10 yuan.")
    again = add_approved_answers(bot.settings, bot.knowledge, bot.engine, embedder=HashEmbedder(),
                                 log=lambda _: None, progress=False)
    assert again["added"] == 0 and again["updated"] == 1
    entries = [e for e in read_entries(registry.active_folder("index")).values() if e.id == approved.entry_id]
    assert [e.answer for e in entries] == ["Yes, from 10 yuan."]
