"""The screens in a real browser: a customer chats in English and Chinese and asks for a person, an agent signs
in at /agent, takes the conversation over and replies, and the reply reaches the customer's page; a customer's
<script> stays text in the console.

Drives Debian's `chromium` through Playwright (its own browser download is not used) against the app served
by uvicorn on a free loopback port. Without chromium the test skips, unless ASSISTANT_TEST_REQUIRE_BROWSER=1
(CI, after `.ci/browser.sh`), where it fails. Screenshots go to test-output/browser/.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from assistant import desk, store

pytestmark = pytest.mark.browser

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
AGENT, PASSWORD = "lin", "s3cret-pass"
PAYLOAD = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'
AGENT_REPLY = "Hello from Lin at Maple Market: a new jacket ships today, tracking follows by e-mail."
WAIT_MS = 20_000  # for one step on a loaded page; the chat polls for agents' replies every 3 s


@pytest.fixture(scope="session")
def chromium() -> str:
    """Chromium's path, Playwright importable, or a skip (a failure when CI requires the browser).

    Session-scoped so that it runs before the session's fake home is bootstrapped: a skip costs nothing."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if importlib.util.find_spec("playwright") is None:
        path, why = None, "playwright is not installed: pip install -e '.[test]'"
    else:
        why = "no chromium on PATH: run .ci/browser.sh (apt-get install chromium fonts-noto-cjk)"
    if path:
        return path
    if os.environ.get("ASSISTANT_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"ASSISTANT_TEST_REQUIRE_BROWSER=1 but {why}")
    pytest.skip(why)


@pytest.fixture
def live_app(fake_assistant):
    """The whole app (chat, console, API) served by uvicorn on a free loopback port; yields its base URL."""
    import httpx
    import uvicorn

    from ui.app import create_app

    with store.transaction(fake_assistant.engine) as session:
        desk.add_agent(session, name=AGENT, password=PASSWORD)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(fake_assistant.settings, fake_assistant), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail(f"the app did not answer at {base}/healthz within 30 s")
        time.sleep(0.1)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        yield browser
        browser.close()


class Screens:
    """Waits that fail with what was expected, and screenshots under test-output/browser/."""

    def __init__(self):
        OUTPUT.mkdir(parents=True, exist_ok=True)
        for old in OUTPUT.glob("*.png"):  # the folder shows this run only, not an earlier run's failure
            old.unlink()

    def shot(self, page, name: str) -> Path:
        path = OUTPUT / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def until(self, page, what: str, script: str, arg=None, timeout: int = WAIT_MS) -> None:
        """Wait for `script` (a JS function of `arg`) to be true on `page`, or fail saying `what` never happened."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            page.wait_for_function(script, arg=arg, timeout=timeout)
        except PlaywrightTimeout:
            slug = re.sub(r"\W+", "-", what.lower()).strip("-")[:60]
            path = self.shot(page, f"FAILED-{slug}")
            pytest.fail(f"{what}: not seen within {timeout / 1000:.0f} s (the page as it was: {path})")


BOT_ROW = """([n, expected]) => { const rows = document.querySelectorAll('#chat [data-testid="bot"]');
    return rows.length >= n && rows[n - 1].innerText.includes(expected); }"""
USER_ROWS = """(n) => document.querySelectorAll('#chat [data-testid="user"]').length >= n"""
CONTAINS = """([selector, expected]) => { const el = document.querySelector(selector);
    return !!el && el.innerText.includes(expected); }"""
# The queue's visible cells (Gradio's Dataframe also keeps a hidden copy of the rows to size its columns).
QUEUE_CELLS = '#queue [role="gridcell"]'
QUEUE_CELL = """(expected) => [...document.querySelectorAll('#queue [role="gridcell"]')]
    .some(cell => cell.innerText.trim() === expected)"""
VISIBLE = """(selector) => { const el = document.querySelector(selector); return !!el && el.offsetParent !== null; }"""


def _say(screens: Screens, page, text: str, *, user_rows: int) -> None:
    box = page.locator("#chat-input textarea")
    box.fill(text)
    box.press("Enter")
    screens.until(page, f"the customer's message {text[:30]!r} in the chat", USER_ROWS, user_rows)


# `chromium` first: a session fixture, it then runs (and skips) before the fake home's bootstrap.
def test_customer_agent_round_trip_in_a_real_browser(chromium, browser, live_app, fake_assistant, capsys):
    screens = Screens()
    customer = browser.new_page(viewport={"width": 1100, "height": 1000}, locale="en-US")
    customer.set_default_timeout(WAIT_MS)
    customer.goto(live_app + "/", wait_until="load")
    customer.locator("#chat-input textarea").wait_for()

    # English and Chinese questions, answered from the shop's knowledge.
    _say(screens, customer, "How long does delivery usually take?", user_rows=1)
    screens.until(customer, "the English answer (3-5 days)", BOT_ROW, [1, "3-5 days"])
    _say(screens, customer, "我想退货，怎么操作？", user_rows=2)
    screens.until(customer, "the Chinese answer (我的订单)", BOT_ROW, [2, "我的订单"])

    # Asking for a person escalates: the bot says so and the agent notice appears.
    _say(screens, customer, "I want to talk to a human please", user_rows=3)
    screens.until(customer, "the escalation notice in the chat", BOT_ROW, [3, "support agents"])
    screens.until(customer, "the 'agent is taking over' banner", VISIBLE, "#agent-notice")
    # While the conversation waits for an agent the bot stays silent; this message is what the agent reads last.
    _say(screens, customer, PAYLOAD, user_rows=4)
    with store.transaction(fake_assistant.engine) as session:
        waiting = desk.queue(session)
    assert [(item.status, item.last_message) for item in waiting] == [("escalated", PAYLOAD)], waiting
    conversation_id = waiting[0].conversation_id
    assert customer.evaluate("typeof window.__pwned") == "undefined", "the customer's own <script> ran in the chat"
    own = customer.locator("#chat [data-testid='user']").nth(3)
    assert "<img src=x" in own.inner_text(), "the customer's own message is not shown as the characters typed"
    assert own.locator("img, script").count() == 0, "the customer's own markup became elements in the chat"
    chat_shot = screens.shot(customer, "1-customer-chat-escalated")

    # The agent signs in through Gradio's login form; the escalated conversation waits in the queue.
    console = browser.new_page(viewport={"width": 1400, "height": 1100}, locale="en-US")
    console.set_default_timeout(WAIT_MS)
    console.goto(live_app + "/agent/", wait_until="load")
    console.get_by_label("username", exact=False).fill(AGENT)
    console.get_by_label("password", exact=False).fill(PASSWORD)
    console.get_by_role("button", name=re.compile("^login$", re.IGNORECASE)).click()
    screens.until(console, "the escalated conversation in the agent's queue", QUEUE_CELL, conversation_id)
    cells = console.locator(QUEUE_CELLS)
    assert cells.filter(has_text=PAYLOAD).count() == 1, \
        f"the customer's message is not shown as text in the queue: {cells.all_inner_texts()}"
    assert console.locator("#queue img").count() == 0, "the customer's <img> became an element in the queue"

    cells.filter(has_text=conversation_id).click()
    screens.until(console, "the conversation's transcript after picking it in the queue", CONTAINS,
                  ["#transcript", "Status: escalated"])
    console.get_by_role("button", name="Take over").click()
    screens.until(console, "the conversation owned by the agent after 'Take over'", CONTAINS,
                  ["#transcript", "Status: agent"])
    console.locator("#agent-reply textarea").fill(AGENT_REPLY)
    console.get_by_role("button", name="Send reply").click()
    screens.until(console, "the agent's reply in the console's transcript", CONTAINS, ["#transcript", AGENT_REPLY])

    # The customer's <script> and onerror are text in the transcript, never markup that runs.
    transcript = console.locator("#transcript")
    assert PAYLOAD in transcript.inner_text(), "the customer's message is not shown verbatim in the transcript"
    assert transcript.locator("script, img").count() == 0, "the customer's markup became elements in the console"
    assert console.evaluate("typeof window.__pwned") == "undefined", "a customer's script ran in the agent console"
    console_shot = screens.shot(console, "2-agent-console-reply-sent")

    # The customer's open page polls for agents' messages: the reply shows up there, labelled as from an agent.
    screens.until(customer, "the agent's reply in the customer's chat (polled every 3 s)", BOT_ROW, [4, AGENT_REPLY])
    assert "Support agent" in customer.locator('#chat [data-testid="bot"]').nth(3).inner_text()
    reply_shot = screens.shot(customer, "3-customer-chat-agent-reply")
    assert customer.evaluate("typeof window.__pwned") == "undefined"

    with capsys.disabled():
        print("\nscreenshots: " + ", ".join(str(p) for p in (chat_shot, console_shot, reply_shot)))
