"""`assistant models list / promote / rollback`, and a running assistant swapping to a promoted version."""

import json
import shutil
import threading
import time

from typer.testing import CliRunner

from assistant.pipeline import Assistant
from assistant.registry import Registry
from assistant.settings import Settings
from retrieval.knowledge import load_knowledge
from tests.conftest import KNOWLEDGE, HashEmbedder
from ui.cli import app
from ui.index_versions import import_qa_version

runner = CliRunner()


def wait_for(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_promotion_and_rollback_reach_a_running_assistant_without_a_failed_request(
        fake_home_template, assistant_home, tmp_path, monkeypatch):
    shutil.copytree(fake_home_template, assistant_home)
    monkeypatch.setenv("ASSISTANT_KNOWLEDGE_DIR", str(KNOWLEDGE))
    settings = Settings(home=assistant_home, knowledge_dir=KNOWLEDGE, reload_seconds=0.05)
    bot = Assistant(settings, embedder=HashEmbedder())
    assert bot.model_versions["index"] == "v0001"

    failures: list[BaseException] = []
    answered = [0]
    stop = threading.Event()

    def customer():
        while not stop.is_set():
            try:
                bot.reply(None, "do you sell gift vouchers")
                answered[0] += 1
            except BaseException as exc:  # noqa: BLE001 (any failure is what the test counts)
                failures.append(exc)

    traffic = [threading.Thread(target=customer) for _ in range(3)]
    for thread in traffic:
        thread.start()
    try:
        qa = tmp_path / "qa.jsonl"
        qa.write_text(json.dumps({"id": "gift-1", "question": "Do you sell gift vouchers?",
                                  "answer": "Yes: gift vouchers are on the Gifts page."}) + "\n")
        import_qa_version(settings, load_knowledge(KNOWLEDGE), qa, embedder=HashEmbedder(), log=lambda _: None,
                          progress=False)
        assert wait_for(lambda: bot.model_versions["index"] == "v0002")
        hits = bot.runtime.retriever.search("do you sell gift vouchers", k=1)
        assert hits[0].id == "gift-1"

        listed = runner.invoke(app, ["models", "list", "--json"])
        rows = {(r["kind"], r["version"]): r for r in json.loads(listed.stdout)}
        assert rows[("index", "v0002")]["active"] and rows[("index", "v0002")]["parent"] == "v0001"
        assert "add qa.jsonl" in rows[("index", "v0002")]["summary"]

        result = runner.invoke(app, ["models", "rollback", "index", "--json"])
        assert json.loads(result.stdout) == {"kind": "index", "active": "v0001", "was": "v0002"}
        assert wait_for(lambda: bot.model_versions["index"] == "v0001")

        # A damaged version is refused by the running assistant, which keeps answering with the old one.
        registry = Registry(settings.models_dir)
        (registry.root / "index" / "v0002" / "index.faiss").write_bytes(b"broken")
        result = runner.invoke(app, ["models", "promote", "index/v0002"])
        assert result.exit_code == 0, result.output
        time.sleep(1.0)
        assert bot.model_versions["index"] == "v0001"
        before = answered[0]
        assert wait_for(lambda: answered[0] > before + 3)
    finally:
        stop.set()
        for thread in traffic:
            thread.join()
    assert failures == [] and answered[0] > 10


def test_promote_names_what_is_missing(fake_home_template, assistant_home):
    shutil.copytree(fake_home_template, assistant_home)
    result = runner.invoke(app, ["models", "promote", "v0009"])
    assert result.exit_code == 1 and "models list" in result.output
    result = runner.invoke(app, ["models", "rollback", "router"])
    assert result.exit_code == 1 and "nothing to roll back to" in result.output
