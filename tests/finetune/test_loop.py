"""The learning loop's gate, and one real (tiny) run from agent labels to a registered candidate."""

import json

import pytest

from assistant import desk, store
from assistant.models import minilm_path
from assistant.registry import Registry
from finetune.args import ClassifierTrainingArgs
from finetune.datasets import grow_holdout, read_holdout
from finetune.loop import GateConfig, gate, run
from tests.conftest import HashEmbedder


def scores(holdout_intent, holdout_sentiment, new_intent=None, n_new=10, n_holdout=200):
    new = {"intent": new_intent, "n_intent": n_new} if new_intent is not None else {}
    return {"holdout": {"intent": holdout_intent, "sentiment": holdout_sentiment, "n_intent": n_holdout}, "new": new}


def test_gate_promotes_only_a_candidate_that_learns_and_does_not_regress():
    active = scores(0.80, 0.90, 0.10)
    assert gate(scores(0.797, 0.905, 0.95), active, GateConfig()) == (True, [])
    ok, reasons = gate(scores(0.79, 0.90, 0.95), active, GateConfig())     # 1 point lost on intent
    assert not ok and reasons == ["holdout intent accuracy falls 1.0 points (0.800 -> 0.790)"]
    assert gate(scores(0.79, 0.90, 0.95), active, GateConfig(tolerance=1.5))[0]
    ok, reasons = gate(scores(0.85, 0.95, 0.40), active, GateConfig())
    assert not ok and "new labels not learned" in reasons[0]
    ok, reasons = gate(scores(0.85, 0.95), active, GateConfig())
    assert not ok and reasons == ["no newly labelled messages to learn from"]
    ok, reasons = gate(scores(0.85, 0.95, 0.95, n_holdout=12), active, GateConfig())
    assert not ok and reasons[0].startswith("the frozen holdout has 12 agent-labelled message(s), 30 are needed")


@pytest.mark.integration
def test_a_run_trains_evaluates_registers_and_reports(fake_assistant):
    bot = fake_assistant
    # Customers ask; agents label every message (what the router got wrong included).
    asked = {"can I pay with my student card": "payment_methods", "do you take student cards": "payment_methods",
             "student card payment possible?": "payment_methods", "pay by student card": "payment_methods",
             "where is my parcel": "order_status", "my parcel has not arrived": "order_status",
             "how much is delivery": "shipping_cost", "delivery price please": "shipping_cost"}
    with store.transaction(bot.engine) as session:
        desk.add_agent(session, name="lin", password="s3cret-pass")
    for round_ in range(2):
        for text, intent in asked.items():
            reply = bot.reply(None, f"{text} ({round_})")
            with store.transaction(bot.engine) as session:
                message = next(m for m in store.list_messages(session, conversation_id=reply.conversation_id)
                               if m.role == "customer")
                desk.correct(session, agent_name="lin", message_id=message.id, intent=intent)
    settings = bot.settings
    holdout_file = settings.home / "datasets" / "holdout.json"
    grown = grow_holdout(holdout_file, bot.engine, fraction=0.5)
    assert 0 < grown["added"] < 16
    result = run(settings, bot.knowledge, bot.engine, HashEmbedder(), minilm_path(),
                 holdout_ids=read_holdout(holdout_file), args=ClassifierTrainingArgs.tiny(mode="head", lexical=False),
                 config=GateConfig(min_holdout=3), log=lambda _: None, progress=False)
    assert result["n_holdout"] == grown["added"] and result["n_new"] == 16 - grown["added"]
    registry = Registry(settings.models_dir)
    kind, version = result["version"].split("/")
    folder = registry.root / kind / version
    assert (folder / "report.md").is_file() and (folder / "report-per-intent.png").stat().st_size > 1000
    assert (folder / "report-confusion.png").stat().st_size > 1000
    report = json.loads((folder / "report.json").read_text())
    assert report["n_holdout"] == grown["added"]
    confusion = report["candidate"]["new"]["confusion"]  # truth -> predicted -> count, over every new row
    assert sum(n for row in confusion.values() for n in row.values()) == result["n_new"]
    assert report["candidate"]["new"]["intent"] == round(
        sum(row.get(truth, 0) for truth, row in confusion.items()) / result["n_new"], 4)
    # Promoted exactly when the gate said so; the active classifier follows.
    assert result["promoted"] == (not result["reasons"])
    assert (registry.active_version("classifier") == version) == result["promoted"]
    assert registry.info("classifier", version)["gate"]["promoted"] == result["promoted"]


def test_every_takes_a_number_and_a_unit():
    import typer

    from ui.cli.finetune import parse_interval

    assert parse_interval("30m") == 1800 and parse_interval("24h") == 86400 and parse_interval("7d") == 604800
    for bad in ("24", "h", "10s", "soon"):
        with pytest.raises(typer.BadParameter):
            parse_interval(bad)


def test_a_run_with_nothing_new_trains_nothing(fake_assistant):
    bot = fake_assistant
    bot.reply(None, "where is my order")  # no agent label, no rating: nothing to learn
    result = run(bot.settings, bot.knowledge, bot.engine, HashEmbedder(), minilm_path(), holdout_ids=set(),
                 log=lambda _: None, progress=False)
    assert result["reasons"] == ["nothing new in the store to learn from"] and result["version"] is None
    assert Registry(bot.settings.models_dir).versions("classifier") == []
