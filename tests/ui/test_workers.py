"""`assistant serve --workers N`: real worker processes sharing one PostgreSQL, every one taking a promoted
model without a restart, their metrics summed, the screens in a process of their own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import Session, func, select

from assistant import store
from assistant.tables import Message

CLI = [sys.executable, "-c", "from ui.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _ready(port: int) -> dict:
    """/readyz on a new connection each time, so the kernel may hand it to any worker."""
    response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    return response.json() if response.status_code == 200 else {}


@pytest.fixture
def served(tmp_path, tiny_encoder, postgres_url):
    from assistant.settings import Settings
    from finetune.args import RouterTrainingArgs
    from retrieval.knowledge import load_knowledge
    from tests.conftest import KNOWLEDGE
    from ui.bootstrap import ensure_ready, train_router_version

    # Bootstrapped here with the tiny training arguments (seconds), and a second router version to promote back from.
    settings = Settings(home=tmp_path / "home", knowledge_dir=KNOWLEDGE, embedder_path=str(tiny_encoder),
                        database_url=postgres_url)
    ensure_ready(settings, args=RouterTrainingArgs.tiny(), log=lambda _: None, progress=False)
    train_router_version(settings, load_knowledge(KNOWLEDGE), args=RouterTrainingArgs.tiny(), log=lambda _: None,
                         progress=False)
    port, screens = _free_port(), _free_port()
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home"), "ASSISTANT_EMBEDDER_PATH": str(tiny_encoder),
           "ASSISTANT_DATABASE_URL": postgres_url, "ASSISTANT_RELOAD_SECONDS": "0.5",
           "ASSISTANT_ALERT_CHECK_SECONDS": "0", "ASSISTANT_ESCALATE_NEGATIVE_SCORE": "1.0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    key = subprocess.run([*CLI, "keys", "create", "--name", "shop"], env=env, capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    errors = tmp_path / "serve.log"
    with errors.open("w") as sink:
        server = subprocess.Popen([*CLI, "serve", "--workers", "2", "--port", str(port), "--screens-port",
                                   str(screens)], env=env, stdout=subprocess.DEVNULL, stderr=sink,
                                  start_new_session=True)

    def ready():
        assert server.poll() is None, f"serve exited ({server.returncode}): {errors.read_text()[-3000:]}"
        return _ready(port)

    try:
        _wait(ready, 240, "the workers to be ready")
        yield port, screens, key, env, postgres_url
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        if server.returncode not in (0, -signal.SIGINT):
            print(errors.read_text()[-3000:])


def test_workers_share_the_database_and_all_take_a_promoted_model(served):
    port, screens, key, env, url = served
    processes = {}
    _wait(lambda: processes.update({(r := _ready(port))["process"]: r["models"]}) or len(processes) >= 2, 60,
          "answers from two different worker processes")

    def customer(n: int) -> list[int]:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            started = client.post("/api/v1/conversations", headers={"Authorization": f"Bearer {key}"}).json()
            path, auth = f"/api/v1/conversations/{started['id']}/messages", {"Authorization": f"Bearer {started['token']}"}
            return [client.post(path, json={"text": f"customer {n}: where is my order, turn {turn}?"},
                                headers=auth).status_code for turn in range(3)]

    with ThreadPoolExecutor(8) as pool:
        statuses = [s for turns in pool.map(customer, range(12)) for s in turns]
    assert statuses == [200] * 36
    engine = store.make_engine(url)
    with Session(engine) as session:
        assert session.exec(select(func.count()).where(Message.role == "customer")).one() == 36
        bot_replies = session.exec(select(func.count()).where(Message.role == "bot")).one()
    engine.dispose()
    scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text  # summed over every process
    replies = sum(float(line.rsplit(" ", 1)[1]) for line in scraped.splitlines()
                  if line.startswith("assistant_replies_total{"))
    assert replies == bot_replies > 0

    redirect = httpx.get(f"http://127.0.0.1:{port}/agent", timeout=10)
    assert redirect.status_code == 307 and redirect.headers["location"] == f"http://127.0.0.1:{screens}/agent"
    assert httpx.get(f"http://127.0.0.1:{screens}/", timeout=30).status_code == 200  # the chat, one process

    assert {models["router"] for models in processes.values()} == {"v0002"}
    promoted = "v0001"
    subprocess.run([*CLI, "models", "promote", f"router/{promoted}"], env=env, capture_output=True, check=True)
    seen = {}
    _wait(lambda: seen.update({(r := _ready(port))["process"]: r["models"]["router"]}) or (
        set(processes) <= set(seen) and all(seen[p] == promoted for p in processes)), 60,
        f"every worker answering with router {promoted}")
