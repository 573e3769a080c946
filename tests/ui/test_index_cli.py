"""`assistant index add / remove / info / build` on the fake-bootstrapped sample shop."""

import json

import pytest
from typer.testing import CliRunner

from assistant.registry import Registry
from assistant.settings import Settings
from retrieval.faq_index import read_entries
from tests.conftest import KNOWLEDGE, HashEmbedder
from ui.cli import app

runner = CliRunner()


@pytest.fixture
def shop(fake_home_template, assistant_home, monkeypatch):
    """The fake-bootstrapped home, with the commands embedding through the same fake embedder."""
    import shutil

    shutil.copytree(fake_home_template, assistant_home)
    monkeypatch.setenv("ASSISTANT_KNOWLEDGE_DIR", str(KNOWLEDGE))
    monkeypatch.setattr("ui.index_versions.embedder_from_settings", lambda settings, log=None: HashEmbedder())
    return Registry(Settings().models_dir)


def run_json(*args):
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_add_a_csv_export_then_remove_and_rebuild_keep_what_was_imported(shop, tmp_path):
    before = shop.active_version("index")
    count = len(read_entries(shop.active_folder("index")))
    export = tmp_path / "export.csv"
    export.write_text("id,question,answer,intent\n"
                      "p1,Can I pay with PayPal?,\"Yes, choose PayPal at checkout.\",\n"
                      "p2,can i pay with paypal,Duplicate.,\n"
                      "p3,\"My e-mail is jo@example.com, where is my order?\",Look in My orders.,order_status\n"
                      "p4,Do you sell gift cards?,Not yet.,gift_cards\n", encoding="utf-8")
    printed = run_json("index", "add", str(export))
    assert printed["added"] == 3 and printed["duplicates"] == 1 and printed["rows"] == 4
    assert printed["unknown_intents"] == {"gift_cards": 1}
    assert printed["index"] != before and shop.active_version("index") == printed["index"]
    entries = {e.id: e for e in read_entries(shop.active_folder("index")).values()}
    assert len(entries) == count + 3 and "[EMAIL]" in entries["p3"].question and "jo@example.com" not in json.dumps(
        [e.question + e.answer for e in entries.values()])

    assert run_json("index", "add", str(export))["unchanged"] == 3  # importing again changes nothing

    # The assistant answers from the new version.
    from assistant.pipeline import Assistant

    assistant = Assistant(Settings(), embedder=HashEmbedder())
    hits = assistant.runtime.retriever.search("can I pay with paypal", k=1)
    assert hits[0].id == "p1"

    assert run_json("index", "remove", "p4", "nope") == {"index": shop.active_version("index"), "removed": 1,
                                                           "not_found": 1}
    run_json("index", "build")
    entries = read_entries(shop.active_folder("index")).values()
    assert {e.id for e in entries} >= {"p1", "p3"} and "p4" not in {e.id for e in entries}
    info = run_json("index", "info")
    assert info["type"] == "flat" and info["sources"] == {"knowledge": count, "export.csv": 2}


def test_add_refuses_a_bad_file_and_keeps_the_active_version(shop, tmp_path):
    before = shop.active_version("index")
    bad = tmp_path / "export.jsonl"
    bad.write_text('{"question": "ok", "answer": "fine"}\n{"question": "", "answer": "x"}\n', encoding="utf-8")
    result = runner.invoke(app, ["index", "add", str(bad)])
    assert result.exit_code == 1 and "export.jsonl:2: `question` is missing or empty" in result.output
    assert "nothing was imported" in result.output
    assert shop.active_version("index") == before and len(shop.versions("index")) == 1


def test_remove_refuses_the_knowledge_folders_entries(shop):
    before = shop.active_version("index")
    first = next(iter(read_entries(shop.active_folder("index")).values()))
    result = runner.invoke(app, ["index", "remove", first.id])
    assert result.exit_code == 1 and "delete them there" in result.output
    assert shop.active_version("index") == before and shop.versions("index") == [before]
