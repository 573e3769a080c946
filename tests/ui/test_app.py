from fastapi.testclient import TestClient

from ui.app import create_app


def test_one_app_serves_health_docs_and_the_chat(fake_assistant):
    client = TestClient(create_app(fake_assistant.settings, fake_assistant))
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["models"] == {"router": "v0001", "index": "v0001"}
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "Maple Market" in page.text


def test_health_says_what_is_missing(assistant_home):
    from assistant.pipeline import Assistant
    from assistant.settings import Settings
    from tests.conftest import KNOWLEDGE, HashEmbedder

    assistant = Assistant(Settings(home=assistant_home, knowledge_dir=KNOWLEDGE), embedder=HashEmbedder())
    client = TestClient(create_app(assistant.settings, assistant))
    response = client.get("/readyz")
    assert response.status_code == 503 and "assistant train router" in response.json()["detail"]
    assert response.headers["retry-after"] == "5"
    assert client.get("/healthz").status_code == 200  # alive, though not ready


def test_health_names_a_damaged_index(fake_assistant):
    from assistant.registry import Registry

    (Registry(fake_assistant.settings.models_dir).active_folder("index") / "entries.jsonl").unlink()
    response = TestClient(create_app(fake_assistant.settings, fake_assistant)).get("/readyz")
    assert response.status_code == 503 and "assistant index build" in response.json()["detail"]


def test_chat_events_are_hidden_from_api_clients(fake_assistant):
    from ui.chat import build_chat

    demo = build_chat(fake_assistant)
    assert demo.fns and all(fn.api_visibility == "private" for fn in demo.fns.values())
    client = TestClient(create_app(fake_assistant.settings, fake_assistant))
    info = client.get("/gradio_api/info").json()
    assert info["named_endpoints"] == {} and info["unnamed_endpoints"] == {}


def test_metrics_count_stages_replies_and_escalations_for_this_machine_or_the_token(fake_assistant, monkeypatch):
    import re

    def sample(text: str, name: str, **labels) -> float:
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))  # the exposition sorts labels
        found = re.search(rf"^{name}{{{wanted}}} ([0-9.e+-]+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    app = create_app(fake_assistant.settings, fake_assistant)
    local = TestClient(app, client=("127.0.0.1", 5000))
    before = local.get("/metrics").text
    reply = fake_assistant.reply(None, "Where is my order MM20261104?")
    fake_assistant.request_human(reply.conversation_id)
    after = local.get("/metrics")
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")
    assert sample(after.text, "assistant_stage_seconds_count", stage="route") == \
        sample(before, "assistant_stage_seconds_count", stage="route") + 1
    assert sample(after.text, "assistant_replies_total", source=reply.source, action=reply.action) == \
        sample(before, "assistant_replies_total", source=reply.source, action=reply.action) + 1
    assert sample(after.text, "assistant_escalations_total", trigger="customer") == \
        sample(before, "assistant_escalations_total", trigger="customer") + 1
    assert TestClient(app, client=("203.0.113.9", 5000)).get("/metrics").status_code == 403
    # A proxy on this machine relays outsiders from loopback: a forwarded request needs the token.
    assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    assert TestClient(app, client=("::1", 5000)).get("/metrics").status_code == 200
    monkeypatch.setattr(fake_assistant.settings, "metrics_token", "s3cret")
    remote = TestClient(app, client=("203.0.113.9", 5000))
    assert remote.get("/metrics").status_code == 401 and local.get("/metrics").status_code == 401
    assert remote.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_drafter_fallbacks_are_labelled_by_what_happened():
    from assistant.metrics import fallback_reason

    assert fallback_reason("the drafter at http://gpu:7870 failed repeatedly; retrying in 12 s") == "unavailable"
    assert fallback_reason("the drafter is busy with other replies (waited 2 s)") == "unavailable"
    assert fallback_reason("the drafter at http://gpu:7870 did not answer: ConnectError: refused") == "unavailable"
    assert fallback_reason("the draft was cut off by the time or length limit") == "cut_off"
    assert fallback_reason("ValueError: bad input ids") == "error"
    assert fallback_reason("the draft states 30 days, found in no source") == "unfaithful"


def test_text_logs_are_masked_too_and_a_new_conversation_is_named(fake_assistant, caplog):
    import logging

    from assistant import logs

    filtered = logging.LogRecord("ui", logging.WARNING, __file__, 1, "mail %s", ("jo@example.com",), None)
    assert logs.MaskFilter().filter(filtered) and "jo@example.com" not in filtered.getMessage()
    seen = []

    class Catch(logging.Handler):
        def emit(self, record):
            seen.append(logs._CONVERSATION.get())

    handler = Catch(level=logging.DEBUG)
    logging.getLogger("assistant.pipeline").addHandler(handler)
    try:
        import assistant.pipeline as pipeline

        original = pipeline.store.save_turn

        def save_turn(session, **kwargs):
            logging.getLogger("assistant.pipeline").warning("saving")
            return original(session, **kwargs)

        pipeline.store.save_turn = save_turn
        reply = fake_assistant.reply(None, "hello")
    finally:
        pipeline.store.save_turn = original
        logging.getLogger("assistant.pipeline").removeHandler(handler)
    assert seen == [reply.conversation_id] and logs._CONVERSATION.get() is None


def test_json_logs_carry_the_conversation_and_no_personal_data():
    import json
    import logging

    from assistant import logs

    record = logging.LogRecord("assistant.pipeline", logging.WARNING, __file__, 1,
                               "customer wrote %s", ("call 13812345678 or jo@example.com",), None)
    with logs.conversation("c0ffee"):
        line = json.loads(logs.JsonFormatter().format(record))
    assert line["conversation_id"] == "c0ffee" and line["level"] == "WARNING"
    assert "13812345678" not in line["message"] and "jo@example.com" not in line["message"]
    assert "conversation_id" not in json.loads(logs.JsonFormatter().format(record))
