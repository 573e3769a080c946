"""From an empty ASSISTANT_HOME to answered, escalated and stored turns, with the real default models."""

import json

import pytest
from sqlmodel import Session, create_engine, select
from typer.testing import CliRunner

from assistant.tables import Conversation, Message
from ui.cli import app

pytestmark = pytest.mark.integration


def chat(*args):
    result = CliRunner().invoke(app, ["chat", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_bootstrap_answer_escalate_and_store(assistant_home):
    english = chat("How long does delivery usually take?")
    assert (assistant_home / "models" / "router" / "ACTIVE").is_file()
    assert (assistant_home / "models" / "index" / "ACTIVE").is_file()
    assert english["intent"] == "shipping_time" and english["action"] == "answer"
    assert english["sources"][0]["id"] == "en-0038", english  # "how long does delivery take to Shanghai?"
    assert "3-5 days" in english["reply"] and english["lang"] == "en"

    chinese = chat("我想退货，怎么操作？")
    assert chinese["intent"] == "return_request" and chinese["lang"] == "zh"
    assert chinese["sources"][0]["id"] == "zh-0072", chinese  # "退货怎么弄 第一次退不太会"
    assert "我的订单" in chinese["reply"]

    followup = chat("MM20261104 where is it", "--conversation", english["conversation_id"])
    assert followup["conversation_id"] == english["conversation_id"]
    assert "MM20261104" in followup["reply"]

    angry = chat("This is the WORST shop ever!!! my jacket came ripped and nobody answers, absolutely disgusting")
    assert angry["escalated"] is True and angry["status"] == "escalated" and angry["sentiment"] == "negative"

    engine = create_engine(f"sqlite:///{assistant_home / 'assistant.db'}")
    with Session(engine) as session:
        conversations = {c.id: c for c in session.exec(select(Conversation))}
        messages = list(session.exec(select(Message).order_by(Message.id)))
    assert len(conversations) == 3 and conversations[angry["conversation_id"]].status == "escalated"
    assert [m.role for m in messages] == ["customer", "bot"] * 4
    assert messages[4].text == "MM20261104 where is it" and messages[4].entities[0]["value"] == "MM20261104"
    assert messages[7].action == "escalate" and messages[6].sentiment == "negative"
