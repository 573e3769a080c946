import json

import pytest

from finetune.data import data_hash, per_label_sample, read_labelled, stratified_split
from retrieval.errors import KnowledgeError


def test_csv_with_review_and_category_columns(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("\ufeffcategory,review\nbooks,great read\nbooks,\nfruit,rotten apples\n", encoding="utf-8")
    rows = read_labelled(path, "sentiment").train
    assert [(e.text, e.label("sentiment")) for e in rows] == [("great read", "books"), ("rotten apples", "fruit")]


def test_csv_without_a_label_column_names_what_it_expected(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("text,score\nhello,1\n")
    with pytest.raises(KnowledgeError, match=r"x.csv: no label column \(expected one of label, category, intent"):
        read_labelled(path)


def test_jsonl_reports_the_broken_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"text": "hi", "label": "greet"}) + "\n{broken\n")
    with pytest.raises(KnowledgeError, match=r"x.jsonl:2: not JSON"):
        read_labelled(path)
    path.write_text(json.dumps({"text": "", "label": "greet"}) + "\n")
    with pytest.raises(KnowledgeError, match=r"x.jsonl:1: the text is empty"):
        read_labelled(path)


def test_clinc_style_json_keeps_its_splits_and_out_of_scope_rows(tmp_path):
    path = tmp_path / "clinc.json"
    path.write_text(json.dumps({"train": [["book a flight", "book_flight"]], "oos_train": [["sing me a song", "oos"]],
                                "val": [["flights to paris", "book_flight"]], "test": [["a flight", "book_flight"]],
                                "oos_test": [["what is love", "oos"]]}))
    data = read_labelled(path)
    assert [e.label("intent") for e in data.train] == ["book_flight", "oos"]
    assert len(data.dev) == 1 and [e.label("intent") for e in data.test] == ["book_flight", "oos"]
    path.write_text(json.dumps({"train": [["only text"]]}))
    with pytest.raises(KnowledgeError, match=r"train\[0\] is not a \[text, label\] pair"):
        read_labelled(path)


def test_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(KnowledgeError, match="expected a .csv, .jsonl"):
        read_labelled(tmp_path / "x.txt")
    with pytest.raises(KnowledgeError, match="no such file"):
        read_labelled(tmp_path / "missing.csv")


def test_stratified_split_holds_out_each_label(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text("".join(json.dumps({"text": f"t{i}", "label": "a" if i < 30 else "b"}) + "\n" for i in range(40)))
    rows = read_labelled(path).train
    rest, held = stratified_split(rows, "intent", 0.1, seed=0)
    assert sorted(e.label("intent") for e in held) == ["a", "a", "a", "b"]
    assert len(rest) + len(held) == 40 and not {e.text for e in rest} & {e.text for e in held}
    few = per_label_sample(rows, "intent", 5, seed=0)
    assert sorted(e.label("intent") for e in few) == ["a"] * 5 + ["b"] * 5
    assert data_hash(rows) != data_hash(rest)
