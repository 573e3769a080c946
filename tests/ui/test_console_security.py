"""The agents' screens against other sites: hardened session cookies, no cross-site actions, no foreign CORS."""

import pytest
from fastapi.testclient import TestClient

from assistant import desk, store
from ui.app import create_app
from ui.security import harden_cookie

EVIL = "https://evil.example"
LOGIN = {"username": "lin", "password": "s3cret-pass"}


@pytest.fixture
def app(fake_assistant):
    with store.transaction(fake_assistant.engine) as session:
        desk.add_agent(session, name="lin", password="s3cret-pass")
        store.create_api_key(session, name="shop", origins=["https://shop.example"])
    return create_app(fake_assistant.settings, fake_assistant)


def _cookies(response) -> list[str]:
    return response.headers.get_list("set-cookie")


@pytest.mark.parametrize("screen", ["/agent", "/dashboard"])
def test_session_cookies_are_http_only_and_strict_and_secure_over_https(app, screen):
    plain = TestClient(app).post(f"{screen}/login", data=LOGIN, headers={"Origin": "http://testserver"})
    assert plain.status_code == 200 and len(_cookies(plain)) == 2
    for cookie in _cookies(plain):
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "SameSite=none" not in cookie
    secure = TestClient(app, base_url="https://testserver").post(f"{screen}/login", data=LOGIN,
                                                                 headers={"Origin": "https://testserver"})
    assert secure.status_code == 200
    (cookie,) = _cookies(secure)  # the plain-HTTP copy is not sent over HTTPS
    assert cookie.startswith("access-token-") and "unsecure" not in cookie
    assert all(flag in cookie for flag in ("HttpOnly", "SameSite=Strict", "Secure"))


@pytest.mark.parametrize("screen", ["/agent", "/dashboard"])
def test_console_actions_from_another_site_are_refused(app, screen):
    client = TestClient(app)
    for headers in ({"Origin": EVIL}, {"Origin": "null"}, {"Referer": f"{EVIL}/page"},
                    {"Origin": "http://testserver.evil.example"}):
        refused = client.post(f"{screen}/login", data=LOGIN, headers=headers)
        assert refused.status_code == 403 and "cross-site" in refused.json()["detail"], headers
        assert not _cookies(refused)
    assert client.post(f"{screen}/login", data=LOGIN, headers={"Origin": "http://testserver"}).status_code == 200
    assert client.get(f"{screen}/config").status_code == 200  # signed in now
    forged = client.post(f"{screen}/gradio_api/queue/join", json={}, headers={"Origin": EVIL})
    assert forged.status_code == 403
    own = client.post(f"{screen}/gradio_api/queue/join", json={}, headers={"Origin": "http://testserver"})
    assert own.status_code != 403  # reaches Gradio (which judges the body)
    # A proxy's Host with the scheme's default port is the same site as the browser's origin without it.
    proxied = client.post(f"{screen}/login", data=LOGIN, headers={"Origin": "https://support.example",
                                                                    "Host": "support.example:443"})
    assert proxied.status_code == 200
    # A client that is no browser sends neither header; no page can forge such a request.
    assert TestClient(app).post(f"{screen}/login", data=LOGIN).status_code == 200


def test_no_foreign_origin_may_read_the_console_but_the_shop_api_is_untouched(app):
    client = TestClient(app)
    client.post("/agent/login", data=LOGIN)
    foreign = client.get("/agent/config", headers={"Origin": EVIL})
    assert "access-control-allow-origin" not in foreign.headers
    assert "access-control-allow-credentials" not in foreign.headers
    own = client.get("/agent/config", headers={"Origin": "http://testserver"})
    assert own.status_code == 200 and own.headers["access-control-allow-origin"] == "http://testserver"
    # The shop API keeps its own CORS rules (the keys' origins): a shop page's preflight is answered as before.
    preflight = client.options("/api/v1/conversations", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example"


def test_a_proxy_origin_can_be_trusted(fake_assistant):
    settings = fake_assistant.settings.model_copy(update={"console_origins": ["https://support.shop.example"]})
    client = TestClient(create_app(settings, fake_assistant))
    with store.transaction(fake_assistant.engine) as session:
        desk.add_agent(session, name="lin", password="s3cret-pass")
    assert client.post("/agent/login", data=LOGIN, headers={"Origin": "https://support.shop.example"}).status_code == 200
    assert client.post("/agent/login", data=LOGIN, headers={"Origin": EVIL}).status_code == 403


def test_cookie_hardening():
    assert harden_cookie("access-token-x=abc; Path=/; SameSite=none; Secure", https=False) == \
        "access-token-x=abc; Path=/; HttpOnly; SameSite=Strict"
    assert harden_cookie('access-token-x="abc"; Max-Age=0; Priority=High', https=True) == (
        'access-token-x="abc"; Max-Age=0; Priority=High; HttpOnly; SameSite=Strict; Secure')
    assert harden_cookie("access-token-unsecure-x=abc; Path=/", https=True) is None
    assert harden_cookie("access-token-x=abc; Path=/", https=True).endswith("Secure")
