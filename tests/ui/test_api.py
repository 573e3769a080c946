"""The shop-facing HTTP API: the happy path and every refusal, through the one ASGI app."""

import pytest
from fastapi.testclient import TestClient

from assistant import store
from ui.app import create_app


@pytest.fixture
def api(fake_assistant):
    with store.transaction(fake_assistant.engine) as session:
        _, key = store.create_api_key(session, name="shop", origins=["https://shop.example"])
        _, revoked = store.create_api_key(session, name="old")
        store.revoke_api_key(session, name="old")
    client = TestClient(create_app(fake_assistant.settings, fake_assistant))
    return client, key, revoked


def auth(secret):
    return {"Authorization": f"Bearer {secret}"}


def start(client, key):
    response = client.post("/api/v1/conversations", headers=auth(key))
    assert response.status_code == 201, response.text
    return response.json()


def test_a_shop_page_talks_with_the_assistant(api):
    client, key, _ = api
    conversation = start(client, key)
    assert conversation["token"].startswith("ct_") and conversation["id"]
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    reply = client.post(path, json={"text": "how much is shipping?"}, headers=auth(conversation["token"]))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["conversation_id"] == conversation["id"] and body["reply"] and body["intent"]
    assert {"sentiment", "escalated", "sources"} <= set(body) and body["sources"][0]["id"]
    messages = client.get(path, headers=auth(conversation["token"])).json()
    assert [m["role"] for m in messages] == ["customer", "bot"] and messages[1]["text"] == body["reply"]
    later = client.get(path, params={"after": messages[0]["id"]}, headers=auth(conversation["token"])).json()
    assert [m["id"] for m in later] == [messages[1]["id"]]
    rated = client.post(f"/api/v1/messages/{body['message_id']}/feedback", json={"rating": -1},
                        headers=auth(conversation["token"]))
    assert rated.status_code == 201 and rated.json()["id"] > 0
    state = f"/api/v1/conversations/{conversation['id']}"
    assert client.get(state, headers=auth(conversation["token"])).json()["status"] == "bot"
    pressed = client.post(state + "/escalate", headers=auth(conversation["token"]))
    assert pressed.status_code == 200 and pressed.json()["escalated"] and "minutes" in pressed.json()["reply"]
    assert client.get(state, headers=auth(conversation["token"])).json()["status"] == "escalated"
    assert client.post(state + "/escalate", headers=auth("ct_wrong")).status_code == 403


def test_every_refusal_is_json_with_the_right_status(api):
    client, key, revoked = api
    first, second = start(client, key), start(client, key)
    path = f"/api/v1/conversations/{first['id']}/messages"
    cases = [
        (client.post("/api/v1/conversations"), 401),
        (client.post("/api/v1/conversations", headers=auth("sk_shop_wrong")), 401),
        (client.post("/api/v1/conversations", headers=auth(revoked)), 401),
        (client.get(path), 401),
        (client.get(path, headers=auth(second["token"])), 403),            # another conversation's token
        (client.get(path, headers=auth(key)), 403),                         # a shop key is not a token
        (client.get("/api/v1/conversations/nope/messages", headers=auth(first["token"])), 403),
        (client.post(path, content=b"{not json", headers={**auth(first["token"]),
                                                           "Content-Type": "application/json"}), 400),
        (client.post(path, json={"txt": "hi"}, headers=auth(first["token"])), 422),
        (client.post(path, content=b"x" * 70_000, headers={**auth(first["token"]),
                                                            "Content-Type": "application/json"}), 413),
        (client.post("/api/v1/messages/999999/feedback", json={"rating": 1}, headers=auth(first["token"])), 403),
    ]
    def chunks():
        yield b'{"text": "hi"}'

    cases.append((client.post(path, content=chunks(), headers={**auth(first["token"]),
                                                               "Content-Type": "application/json"}), 411))
    for response, status in cases:
        assert response.status_code == status, (status, response.text)
        assert response.json()["detail"]
    # No body at all (curl -X POST): neither a length nor chunks is an empty body, not a 411.
    bare = client.build_request("POST", "/api/v1/conversations", headers=auth(key))
    del bare.headers["content-length"]
    assert "transfer-encoding" not in bare.headers and client.send(bare).status_code == 201
    reply = client.post(path, json={"text": "hi"}, headers=auth(first["token"])).json()
    other = client.post(f"/api/v1/messages/{reply['message_id']}/feedback", json={"rating": 1},
                        headers=auth(second["token"]))
    assert other.status_code == 403
    bad = client.post(f"/api/v1/messages/{reply['message_id']}/feedback", json={"rating": 5},
                      headers=auth(first["token"]))
    assert bad.status_code == 422 and "rating" in bad.json()["detail"]


def test_rate_limits_answer_429(fake_assistant):
    limited = fake_assistant.settings.model_copy(update={"api_rate_per_ip": 3})
    fake_assistant.settings = limited
    client = TestClient(create_app(limited, fake_assistant))
    statuses = [client.post("/api/v1/conversations", headers=auth("sk_shop_x")).status_code for _ in range(5)]
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]


def test_cors_allows_only_the_shops_origins(api):
    client, _, _ = api
    preflight = {"Access-Control-Request-Method": "POST"}
    ok = client.options("/api/v1/conversations", headers={"Origin": "https://shop.example", **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://shop.example"
    other = client.options("/api/v1/conversations", headers={"Origin": "https://evil.example", **preflight})
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers


def test_an_api_conversation_opens_only_with_its_token(api, fake_assistant):
    from assistant.errors import ConversationNotFound

    client, key, _ = api
    conversation = start(client, key)
    for call in (lambda: fake_assistant.messages_after(conversation["id"], 0),   # what the web chat calls
                 lambda: fake_assistant.reply(conversation["id"], "hi"),
                 lambda: fake_assistant.request_human(conversation["id"])):
        with pytest.raises(ConversationNotFound):
            call()
    assert fake_assistant.messages_after(conversation["id"], 0, conversation["token"])[0] == "bot"


def test_odd_input_is_refused_not_crashed(api):
    client, key, _ = api
    conversation = start(client, key)
    token = auth(conversation["token"])
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    assert client.get(path, params={"after": 10**30}, headers=token).status_code == 422
    assert client.post(f"/api/v1/messages/{10**30}/feedback", json={"rating": 1}, headers=token).status_code == 422
    wrong_origin = client.post("/api/v1/conversations", headers={**auth(key), "Origin": "https://evil.example"})
    assert wrong_origin.status_code == 403 and "shop.example" in wrong_origin.json()["detail"]
    assert client.post("/api/v1/conversations", headers={**auth(key), "Origin": "https://shop.example"}).status_code == 201
