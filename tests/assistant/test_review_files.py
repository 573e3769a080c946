import json

import pytest

from assistant.errors import InvalidInput
from assistant.pii import CUT_MARGIN
from assistant.review_files import Columns, ReviewFile, label_from_rating, parse_date


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_csv_columns_are_found_by_their_usual_names_and_bad_rows_are_skipped_with_the_line(tmp_path):
    path = _write(tmp_path / "r.csv", "\ufeffcat,label,review,日期,评分\n"
                                      "衣服,1,质量很好,2026-11-03,5\n"
                                      '手机,0,"屏幕坏了,\n客服不理",2026/11/04 10:00,1\n'
                                      "水果,1,,2026-11-05,4\n"
                                      "水果,1,好吃,yesterday,4\n"
                                      "水果,0,不新鲜,2026年11月6日,7\n"
                                      ",,,,\n"
                                      "书籍,1,内容不错,,\n")
    review_file = ReviewFile(path)
    rows = list(review_file)
    assert [(r.line, r.product, r.label) for r in rows] == [(2, "衣服", "positive"), (3, "手机", "negative"),
                                                            (9, "书籍", "positive")]
    assert rows[1].text == "屏幕坏了,\n客服不理" and rows[1].date.isoformat() == "2026-11-04T10:00:00+00:00"
    assert rows[0].rating == 5.0 and rows[2].date is None
    assert review_file.skipped == 3
    assert review_file.problems == ["line 5: no review text", "line 6: date 'yesterday' is not a date (expected e.g. 2026-11-29)",
                                    "line 7: rating 7 is not between 0 and 5"]
    assert review_file.bytes_read == path.stat().st_size


def test_jsonl_skips_broken_lines_and_reads_the_rest(tmp_path):
    lines = [json.dumps({"text": "Arrived late", "product": "Laptop", "date": "2026-11-02T08:00:00Z", "stars": 2}),
             "{broken", "[1, 2]", json.dumps({"text": "Great value", "product": None})]
    review_file = ReviewFile(_write(tmp_path / "r.jsonl", "\n".join(lines) + "\n\n"))
    rows = list(review_file)
    assert [(r.text, r.product, r.rating) for r in rows] == [("Arrived late", "Laptop", 2.0), ("Great value", None, None)]
    assert review_file.skipped == 2 and review_file.problems[1] == "line 3: not a JSON object"


def test_explicit_columns_and_clear_errors_for_wrong_files(tmp_path):
    path = _write(tmp_path / "r.csv", "body_text,item\nnice,Mouse\n")
    with pytest.raises(InvalidInput, match="no review text column.*its columns: body_text, item"):
        list(ReviewFile(path))
    rows = list(ReviewFile(path, columns=Columns(text="body_text", product="item")))
    assert rows[0].text == "nice" and rows[0].product == "Mouse"
    with pytest.raises(InvalidInput, match="has no column 'rating_x'"):
        list(ReviewFile(path, columns=Columns(text="body_text", rating="rating_x")))
    with pytest.raises(InvalidInput, match="expected a .csv, .tsv or .jsonl"):
        ReviewFile(_write(tmp_path / "r.xlsx", b"PK\x03\x04"))
    with pytest.raises(InvalidInput, match="is not a file"):
        ReviewFile(tmp_path / "missing.csv")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        list(ReviewFile(_write(tmp_path / "gbk.csv", "评论\n质量很好\n", encoding="gbk")))
    with pytest.raises(InvalidInput, match="is empty"):
        list(ReviewFile(_write(tmp_path / "empty.csv", "")))


def test_a_line_that_is_not_utf8_is_skipped_after_the_header(tmp_path):
    path = _write(tmp_path / "r.csv", b"review\n" + "质量很好\n".encode("gbk") + "物流快\n".encode("utf-8"))
    review_file = ReviewFile(path)
    assert [r.text for r in review_file] == ["物流快"] and review_file.problems == ["line 2: not UTF-8"]


def test_long_reviews_are_cut_and_ratings_become_labels(tmp_path):
    rows = list(ReviewFile(_write(tmp_path / "r.csv", "text\n" + "好" * 1000 + "\n"), max_chars=10))
    assert rows[0].text == "好" * (10 + CUT_MARGIN)  # the analyzer masks, then cuts to 10
    assert [label_from_rating(r) for r in (1, 2, 3, 3.5, 4, 5, None)] == [
        "negative", "negative", "neutral", "neutral", "positive", "positive", None]
    assert parse_date("2026-11-29T10:00:00+08:00").isoformat() == "2026-11-29T02:00:00+00:00"


def test_a_line_too_long_to_be_a_review_is_skipped_without_reading_it_whole(tmp_path, monkeypatch):
    import assistant.review_files as review_files

    monkeypatch.setattr(review_files, "MAX_LINE_BYTES", 100)
    path = _write(tmp_path / "r.jsonl", json.dumps({"text": "ok"}) + "\n" + json.dumps({"text": "x" * 500}) + "\n"
                  + json.dumps({"text": "fine"}) + "\n")
    review_file = ReviewFile(path)
    assert [r.text for r in review_file] == ["ok", "fine"] and review_file.problems == ["line 2: longer than 100 bytes"]
    assert review_file.bytes_read == path.stat().st_size
    with pytest.raises(InvalidInput, match="JSON array"):
        list(ReviewFile(_write(tmp_path / "a.json", '[{"text": "a"}, {"text": "b"}]')))


def test_jsonl_rows_may_name_their_fields_differently(tmp_path):
    lines = [{"text": "a", "product": "P"}, {"review": "b"}, {"stars": 5}, {"评论": "c", "商品": "Q"}]
    review_file = ReviewFile(_write(tmp_path / "r.jsonl", "\n".join(json.dumps(x, ensure_ascii=False) for x in lines)))
    assert [(r.text, r.product) for r in review_file] == [("a", "P"), ("b", None), ("c", "Q")]
    assert review_file.problems == ["line 3: no review text field (its fields: stars)"]
