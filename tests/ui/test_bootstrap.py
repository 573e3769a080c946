import json

import pytest

from assistant.errors import ModelNotFoundError
from assistant.models import embedder_from_settings
from assistant.registry import Registry
from assistant.settings import Settings
from finetune.args import RouterTrainingArgs
from tests.conftest import KNOWLEDGE, HashEmbedder
from ui.bootstrap import ensure_ready


def ready(settings, **kwargs):
    return ensure_ready(settings, embedder=HashEmbedder(), args=RouterTrainingArgs.tiny(), log=lambda _: None,
                        progress=False, **kwargs)


def test_first_start_builds_later_starts_reuse(assistant_home):
    settings = Settings(home=assistant_home, knowledge_dir=KNOWLEDGE)
    assert ready(settings) == {"router": "no router yet", "index": "no index yet", "database": "ready"}
    assert ready(settings) == {"router": "reused", "index": "reused", "database": "ready"}
    assert (assistant_home / "assistant.db").is_file()


def test_missing_or_stale_model_files_are_rebuilt(assistant_home, knowledge_copy):
    settings = Settings(home=assistant_home, knowledge_dir=knowledge_copy)
    ready(settings)
    registry = Registry(settings.models_dir)
    (registry.active_folder("router") / "weights.npz").unlink()
    (registry.active_folder("index") / "index.faiss").unlink()
    done = ready(settings)
    assert done["router"] == "no router yet" and done["index"].startswith("no index in")
    assert registry.active_version("router") == "v0002" and registry.active_version("index") == "v0002"

    with open(knowledge_copy / "faq" / "en.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps({"id": "en-9000", "intent": "greeting", "lang": "en", "question": "yo",
                              "answer": "Hey, welcome to {shop_name}!"}) + "\n")
    done = ready(settings)
    assert done == {"router": "reused", "index": "the FAQ changed", "database": "ready"}


def test_a_missing_embedder_is_named(tmp_path):
    with pytest.raises(ModelNotFoundError, match="ASSISTANT_EMBEDDER_PATH"):
        embedder_from_settings(Settings(embedder_path=str(tmp_path / "nope")))


def test_a_changed_faq_is_synced_and_imported_entries_survive(assistant_home, knowledge_copy, tmp_path, monkeypatch):
    from retrieval.faq_index import read_entries
    from ui.index_versions import import_qa_version

    settings = Settings(home=assistant_home, knowledge_dir=knowledge_copy)
    ready(settings)
    from retrieval.knowledge import load_knowledge

    export = tmp_path / "qa.jsonl"
    export.write_text(json.dumps({"question": "Do you ship to Canada?", "answer": "Yes, in 10 days."}) + "\n")
    import_qa_version(settings, load_knowledge(knowledge_copy), export, embedder=HashEmbedder(), log=lambda _: None,
                      progress=False)
    with open(knowledge_copy / "faq" / "en.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps({"id": "en-9000", "intent": "greeting", "lang": "en", "question": "yo",
                              "answer": "Hey, welcome to {shop_name}!"}) + "\n")
    assert ready(settings)["index"] == "the FAQ changed"
    registry = Registry(settings.models_dir)
    assert registry.info("index", registry.active_version("index"))["change"] == "sync"
    ids = {e.id for e in read_entries(registry.active_folder("index")).values()}
    assert "en-9000" in ids and any(i.startswith("qa-") for i in ids)


def test_an_index_of_the_older_format_is_rebuilt(assistant_home):
    settings = Settings(home=assistant_home, knowledge_dir=KNOWLEDGE)
    ready(settings)
    folder = Registry(settings.models_dir).active_folder("index")
    meta = json.loads((folder / "meta.json").read_text())
    meta.pop("next_key")
    meta["index_type"] = "flat_ip"
    (folder / "meta.json").write_text(json.dumps(meta))
    assert ready(settings)["index"] == "it was built by an older version of the assistant"


def test_a_knowledge_entry_takes_over_an_imported_id_on_rebuild(assistant_home, knowledge_copy, tmp_path):
    from retrieval.faq_index import read_entries
    from retrieval.knowledge import load_knowledge
    from ui.index_versions import build_index_version, import_qa_version

    settings = Settings(home=assistant_home, knowledge_dir=knowledge_copy)
    ready(settings)
    export = tmp_path / "qa.jsonl"
    export.write_text(json.dumps({"id": "gift-1", "question": "Gift vouchers?", "answer": "Not yet."}) + "\n")
    import_qa_version(settings, load_knowledge(knowledge_copy), export, embedder=HashEmbedder(), log=lambda _: None,
                      progress=False)
    with open(knowledge_copy / "faq" / "en.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps({"id": "gift-1", "intent": "greeting", "lang": "en", "question": "Gift vouchers?",
                              "answer": "Yes, on the Gifts page."}) + "\n")
    said = []
    build_index_version(settings, load_knowledge(knowledge_copy), embedder=HashEmbedder(), log=said.append,
                        progress=False)
    entries = [e for e in read_entries(Registry(settings.models_dir).active_folder("index")).values() if e.id == "gift-1"]
    assert [(e.answer, e.source) for e in entries] == [("Yes, on the Gifts page.", "knowledge")]
    assert any("gift-1" in line for line in said)


def test_an_empty_answer_threshold_means_the_encoders_default(monkeypatch):
    monkeypatch.setenv("ASSISTANT_MIN_ANSWER_SCORE", "")
    assert Settings().answer_threshold == 0.65
    assert Settings(encoder="all-minilm-l6-v2").answer_threshold == 0.35
    monkeypatch.setenv("ASSISTANT_MIN_ANSWER_SCORE", "0.5")
    assert Settings().answer_threshold == 0.5
