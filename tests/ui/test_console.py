from fastapi.testclient import TestClient

from assistant import desk, store
from ui.app import create_app
from ui.console import render_transcript


def test_the_console_refuses_visitors_without_a_login(fake_assistant):
    with store.transaction(fake_assistant.engine) as session:
        desk.add_agent(session, name="lin", password="s3cret-pass")
    client = TestClient(create_app(fake_assistant.settings, fake_assistant))
    assert client.get("/agent/config").status_code == 401
    bad = client.post("/agent/login", data={"username": "lin", "password": "wrong"})
    assert bad.status_code == 400 and client.get("/agent/config").status_code == 401
    good = client.post("/agent/login", data={"username": "lin", "password": "s3cret-pass"})
    assert good.status_code == 200 and client.get("/agent/config").status_code == 200
    assert TestClient(create_app(fake_assistant.settings, fake_assistant)).get("/config").status_code == 200  # chat


def test_a_stored_script_is_rendered_inert(fake_assistant):
    fake_assistant.reply(None, "<script>alert('x')</script><img src=x onerror=alert(1)>")
    page = render_transcript(fake_assistant.transcript(_first_conversation(fake_assistant)))
    assert "<script>" not in page and "&lt;script&gt;" in page and "<img" not in page


def _first_conversation(assistant):
    from sqlmodel import Session, select

    from assistant.tables import Conversation

    with Session(assistant.engine) as session:
        return session.exec(select(Conversation)).first().id
