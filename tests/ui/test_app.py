from fastapi.testclient import TestClient

from ui.app import create_app


def test_one_app_serves_health_docs_and_the_chat(fake_assistant):
    client = TestClient(create_app(fake_assistant.settings, fake_assistant))
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["models"] == {"router": "v0001", "index": "v0001"}
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "Maple Market" in page.text


def test_health_says_what_is_missing(assistant_home):
    from assistant.pipeline import Assistant
    from assistant.settings import Settings
    from tests.conftest import KNOWLEDGE, HashEmbedder

    assistant = Assistant(Settings(home=assistant_home, knowledge_dir=KNOWLEDGE), embedder=HashEmbedder())
    response = TestClient(create_app(assistant.settings, assistant)).get("/healthz")
    assert response.status_code == 503 and "assistant train router" in response.json()["detail"]


def test_health_names_a_damaged_index(fake_assistant):
    from assistant.registry import Registry

    (Registry(fake_assistant.settings.models_dir).active_folder("index") / "entries.jsonl").unlink()
    response = TestClient(create_app(fake_assistant.settings, fake_assistant)).get("/healthz")
    assert response.status_code == 503 and "assistant index build" in response.json()["detail"]


def test_chat_events_are_hidden_from_api_clients(fake_assistant):
    from ui.chat import build_chat

    demo = build_chat(fake_assistant)
    assert demo.fns and all(fn.api_visibility == "private" for fn in demo.fns.values())
    client = TestClient(create_app(fake_assistant.settings, fake_assistant))
    info = client.get("/gradio_api/info").json()
    assert info["named_endpoints"] == {} and info["unnamed_endpoints"] == {}
