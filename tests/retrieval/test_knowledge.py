import json
from collections import Counter

import pytest

from retrieval.errors import KnowledgeError
from retrieval.knowledge import load_knowledge, validate_knowledge
from tests.conftest import KNOWLEDGE


def test_sample_shop_is_complete_in_both_languages():
    knowledge = load_knowledge(KNOWLEDGE)
    assert len(knowledge.intents) >= 25
    assert len(knowledge.faq) >= 400
    assert {e.lang for e in knowledge.faq} == {"en", "zh"}
    per_intent = Counter(m.intent for m in knowledge.messages)
    assert set(per_intent) == set(knowledge.intent_names)
    assert min(per_intent.values()) >= 30
    for intent in knowledge.intent_names:
        langs = {m.lang for m in knowledge.messages if m.intent == intent}
        assert langs == {"en", "zh"}, intent
    assert {m.sentiment for m in knowledge.messages} == {"negative", "neutral", "positive"}
    assert any("{order_id}" in e.answer for e in knowledge.faq)
    escalating = {i.name for i in knowledge.intents if i.escalate}
    assert "ask_human" in escalating and "greeting" not in escalating


def test_every_problem_is_reported_with_file_and_line(knowledge_copy):
    faq = knowledge_copy / "faq" / "en.jsonl"
    lines = faq.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    lines[1] = "{broken json"
    lines[2] = json.dumps({**first, "id": "new-1", "intent": "no_such_intent"})
    lines[3] = json.dumps({**first, "id": "new-2", "answer": "Hi {customer_name}"})
    lines[4] = json.dumps({**first})  # duplicate id
    faq.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (knowledge_copy / "messages" / "extra.jsonl").write_text(
        json.dumps({"text": "hello", "intent": "greeting", "sentiment": "angry", "lang": "en"}) + "\n",
        encoding="utf-8")

    problems = validate_knowledge(knowledge_copy)
    where = {(p.file.split("/")[-1], p.line) for p in problems}
    assert ("en.jsonl", 2) in where and ("en.jsonl", 3) in where
    assert ("en.jsonl", 4) in where and ("en.jsonl", 5) in where
    assert ("extra.jsonl", 1) in where
    text = "\n".join(str(p) for p in problems)
    assert "not valid JSON" in text and "no_such_intent" in text and "customer_name" in text
    assert "already used" in text and "angry" in text
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(knowledge_copy)
    assert len(error.value.problems) == len(problems) == 5


def test_broken_yaml_names_its_line(knowledge_copy):
    (knowledge_copy / "intents.yaml").write_text("intents:\n  - name: greeting\n    description: [unclosed\n")
    problems = validate_knowledge(knowledge_copy)
    assert any(p.file.endswith("intents.yaml") and p.line >= 3 for p in problems)


def test_missing_folder_is_a_problem_not_a_crash(tmp_path):
    problems = validate_knowledge(tmp_path / "nowhere")
    assert len(problems) == 1 and "not a folder" in problems[0].message


def test_content_hash_follows_the_files_it_covers(knowledge_copy):
    before = load_knowledge(knowledge_copy)
    with open(knowledge_copy / "faq" / "en.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps({"id": "en-9999", "intent": "greeting", "lang": "en", "question": "yo",
                              "answer": "Hello from {shop_name}!"}) + "\n")
    after = load_knowledge(knowledge_copy)
    assert before.content_hash("faq") != after.content_hash("faq")
    assert before.content_hash("messages", "intents") == after.content_hash("messages", "intents")


@pytest.mark.parametrize("name, content, expected", [
    ("intents.yaml", "", "empty"),
    ("shop.yaml", "", "empty"),
    ("shop.yaml", "name: Shop\nfacts: [a, b]\n", "facts must be a mapping"),
])
def test_empty_or_malformed_yaml_is_a_problem(knowledge_copy, name, content, expected):
    (knowledge_copy / name).write_text(content)
    problems = validate_knowledge(knowledge_copy)
    assert any(p.file.endswith(name) and expected in p.message for p in problems), problems[:3]
