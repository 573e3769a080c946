"""Exporting training data from the store: labels by trust, masking, de-duplication, the frozen holdout."""

import json

from typer.testing import CliRunner

from assistant import desk, store
from assistant.tables import Message
from finetune.datasets import export, grow_holdout, read_holdout
from ui.cli import app


def conversation(bot, *texts):
    """One conversation of customer messages; returns (id, [message ids of the customer's messages])."""
    first = bot.reply(None, texts[0])
    for text in texts[1:]:
        bot.reply(first.conversation_id, text)
    with store.transaction(bot.engine) as session:
        ids = [m.id for m in store.list_messages(session, conversation_id=first.conversation_id) if m.role == "customer"]
    return first.conversation_id, ids


def test_labels_come_from_agents_then_from_well_rated_conversations(fake_assistant):
    bot = fake_assistant
    corrected, [asked] = conversation(bot, "my parcel never came")
    liked, liked_ids = conversation(bot, "where is my order", "thanks a lot")
    disliked, _ = conversation(bot, "how do I return a jacket")
    twin, [twin_id] = conversation(bot, "Where is my order?")            # the same text as in `liked`
    with store.transaction(bot.engine) as session:
        desk.add_agent(session, name="lin", password="s3cret-pass")
        desk.correct(session, agent_name="lin", message_id=asked, intent="order_status", sentiment="negative")
        desk.correct(session, agent_name="lin", message_id=twin_id, intent="shipping_cost")
        desk.take_over(session, agent_name="lin", conversation_id=corrected)
        desk.reply(session, agent_name="lin", conversation_id=corrected, text="Sorry! Call me on 138 0013 8000.")
        bot_reply = next(m for m in store.list_messages(session, conversation_id=liked) if m.role == "bot")
        store.add_feedback(session, conversation_id=liked, message_id=bot_reply.id, rating=1)
        disliked_reply = next(m for m in store.list_messages(session, conversation_id=disliked) if m.role == "bot")
        store.add_feedback(session, conversation_id=disliked, message_id=disliked_reply.id, rating=-1)
        # A row written before masking covered something (stored raw, agent-labelled): masked on the way out.
        old = store.get_conversation(session, conversation_id=disliked)
        store.add_message(session, conversation=old, message=Message(role="customer", text="mail me at jo@example.com",
                                                                     corrected_intent="order_status"))

    data = export(bot.engine, holdout=set(), min_confidence=0.0)
    rows = {r.example.text: r for r in data.train}
    assert rows["my parcel never came"].origin == "agent"
    assert dict(rows["my parcel never came"].example.labels) == {"intent": "order_status", "sentiment": "negative"}
    # The agent's label wins over the same text's pseudo-label in the liked conversation.
    assert dict(rows["Where is my order?"].example.labels) == {"intent": "shipping_cost"}
    assert "where is my order" not in rows and data.stats["duplicates"] == 1
    assert rows["thanks a lot"].origin == "pseudo" and rows["thanks a lot"].conversation_id == liked
    assert "how do I return a jacket" not in rows                      # thumbs down: no pseudo-labels
    assert "mail me at [EMAIL]" in rows and not any("jo@example.com" in t for t in rows)
    [pair] = data.drafter_train
    assert pair.message == "my parcel never came" and pair.reply == "Sorry! Call me on [PHONE]."
    assert export(bot.engine, holdout=set(), pseudo_labels=False, min_confidence=0.0).stats["pseudo"] == 0


def test_the_holdout_is_frozen_by_conversation_and_grows_only_when_asked(fake_assistant, tmp_path):
    bot = fake_assistant
    ids = [conversation(bot, f"question number {i} about my order")[0] for i in range(30)]
    with store.transaction(bot.engine) as session:
        desk.add_agent(session, name="lin", password="s3cret-pass")
        for message in session.exec(store.select(Message).where(Message.role == "customer")).all():
            desk.correct(session, agent_name="lin", message_id=message.id, intent="order_status")
    path = tmp_path / "holdout.json"
    first = grow_holdout(path, bot.engine, fraction=0.3)
    held = read_holdout(path)
    assert first["considered"] == 30 and first["added"] == len(held) and 3 <= len(held) <= 18
    assert grow_holdout(path, bot.engine, fraction=0.3)["added"] == 0     # nothing new to consider
    later = conversation(bot, "a brand new question")[0]
    again = grow_holdout(path, bot.engine, fraction=0.3)
    assert again["considered"] == 1 and read_holdout(path) >= held        # never shrinks
    data = export(bot.engine, holdout=read_holdout(path))
    assert {r.conversation_id for r in data.holdout} <= read_holdout(path)
    assert not {r.conversation_id for r in data.train} & read_holdout(path)
    assert len(data.train) + len(data.holdout) == 30 and later not in {r.conversation_id for r in data.train}


def test_export_command_writes_the_files(fake_assistant, monkeypatch, tmp_path):
    conversation(fake_assistant, "where is my order")
    result = CliRunner().invoke(app, ["finetune", "export", "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["train"] == 0 and sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "classifier-holdout.jsonl", "classifier-train.jsonl", "drafter-holdout.jsonl", "drafter-train.jsonl"]
    result = CliRunner().invoke(app, ["finetune", "holdout", "--grow", "--fraction", "0.5", "--json"])
    assert json.loads(result.stdout)["considered"] == 1
