import json

import pytest

from retrieval.errors import KnowledgeError
from retrieval.qa_import import ImportNotes, QaFile


def write_csv(path, text):
    path.write_text(text, encoding="utf-8-sig")  # as Excel saves it: with a BOM
    return path


def test_csv_rows_become_entries_with_stable_ids_and_detected_language(tmp_path):
    path = write_csv(tmp_path / "export.csv", 'question,answer,intent\n'
                     '"Can I pay with PayPal?","Yes, at checkout.",payment\n'
                     '"能开发票吗","可以，在订单页申请。",\n'
                     '"Where is it?","Write to help@shop.example, {sorry}",made_up_intent\n')
    qa = QaFile(path, intents=frozenset({"payment"}), facts={"support_email": ["help@shop.example"]})
    assert qa.check() == 3
    notes = ImportNotes()
    entries = list(qa.entries(notes))
    assert [(e.intent, e.lang, e.source) for e in entries] == [("payment", "en", "export.csv"), ("", "zh", "export.csv"),
                                                               ("", "en", "export.csv")]
    # A shop fact written out becomes its placeholder; other braces are literal.
    assert entries[2].answer == "Write to {support_email}, {{sorry}}"
    assert entries[2].answer.format_map({"support_email": "help@shop.example"}) == "Write to help@shop.example, {sorry}"
    assert notes.unknown_intents == {"made_up_intent": 1} and notes.literal_braces == 1 and notes.facts_placed == 1
    assert [e.id for e in qa.entries()] == [e.id for e in entries]  # same file, same ids
    assert entries[0].id != entries[1].id


def test_jsonl_with_ids_and_cleaning(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "a1", "question": "My phone is 13800138000", "answer": "Thanks, we call {order_id}.", "lang": "en"},
        {"question": "  spaced   out ", "answer": "ok"},
    ]) + "\n\n", encoding="utf-8")
    qa = QaFile(path, clean=lambda text: text.replace("13800138000", "[PHONE]"))
    entries = list(qa.entries())
    assert entries[0].id == "a1" and entries[0].question == "My phone is [PHONE]"
    assert entries[0].answer == "Thanks, we call {order_id}." and entries[1].question == "spaced out"


@pytest.mark.parametrize("name, content, message", [
    ("qa.txt", "question,answer\n", "expected a .csv or .jsonl file"),
    ("qa.csv", "q,a\nhi,there\n", "no question and no answer column"),
    ("qa.csv", "question,answer\nhello,\n", "qa.csv:2: `answer` is missing or empty"),
    ("qa.csv", "question,answer\n", "no Q&A rows"),
    ("qa.jsonl", '{"question": "hi", "answer": "yo"}\n{broken\n', "qa.jsonl:2: not valid JSON"),
    ("qa.jsonl", '["a list"]\n', "expected a JSON object"),
    ("qa.jsonl", '{"question": "hi", "answer": "yo", "lang": "fr"}\n', "lang 'fr' is not one of"),
    ("qa.jsonl", '{"question": "hi", "answer": "yo", "intent": 3}\n', "`intent` must be text"),
    ("qa.jsonl", json.dumps({"question": "x" * 3000, "answer": "yo"}) + "\n", "3000 characters"),
])
def test_bad_files_are_refused_whole_with_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeError, match=message.replace("(", r"\(")):
        QaFile(path).check()


def test_not_utf8_and_missing_files(tmp_path):
    path = tmp_path / "qa.csv"
    path.write_bytes("question,answer\n能开发票吗,可以\n".encode("gbk"))
    with pytest.raises(KnowledgeError, match="not UTF-8"):
        QaFile(path).check()
    with pytest.raises(KnowledgeError, match="no such file"):
        QaFile(tmp_path / "none.csv").check()


def test_ids_must_be_unique_and_not_the_knowledge_folders(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"id": 7, "question": "a?", "answer": "A."},          # numbered rows are fine (as text)
        {"id": "7", "question": "b?", "answer": "B."},
        {"id": "en-0001", "question": "c?", "answer": "C."},
    ]) + "\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        QaFile(path, reserved_ids=frozenset({"en-0001"})).check()
    text = str(caught.value)
    assert "qa.jsonl:2: id '7' was already used on line 1" in text
    assert "qa.jsonl:3: id 'en-0001' is an entry of the knowledge folder's faq/" in text


def test_header_is_case_insensitive_and_a_semicolon_file_gets_a_hint(tmp_path):
    ok = write_csv(tmp_path / "ok.csv", "Question , ANSWER\nhi?,hello\n")
    assert [e.answer for e in QaFile(ok).entries()] == ["hello"]
    semi = write_csv(tmp_path / "semi.csv", "question;answer\nhi?;hello\n")
    with pytest.raises(KnowledgeError, match="separated by ';'"):
        QaFile(semi).check()


def test_numbers_split_over_lines_are_masked_after_spacing_is_normalised(tmp_path):
    from assistant.pii import mask

    path = write_csv(tmp_path / "qa.csv", 'question,answer\n"call me on 138\n0013  8000","We will."\n')
    [entry] = QaFile(path, clean=lambda t: mask(t).text).entries()
    assert entry.question == "call me on [PHONE]"


def test_answers_with_split_numbers_are_masked_too(tmp_path):
    from assistant.pii import mask

    path = write_csv(tmp_path / "qa.csv", 'question,answer\nwhen?,"We will call you on 138\n0013  8000 today."\n')
    [entry] = QaFile(path, clean=lambda t: mask(t).text).entries()
    assert entry.answer == "We will call you on [PHONE] today."
