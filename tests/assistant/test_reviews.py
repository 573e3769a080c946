import tracemalloc
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from assistant import reviews, store
from assistant.aspects import DEFAULT_ASPECTS, aspects_in, clauses, load_aspects
from assistant.errors import InvalidInput
from assistant.review_files import RawReview, ReviewFile
from assistant.tables import Review, ReviewBatch
from assistant.types import Reading
from retrieval.errors import KnowledgeError

PRODUCTS = {"Wireless earbuds": ("Wireless earbuds", "earbuds", "耳机"), "Power bank": ("Power bank", "充电宝")}


class KeywordReader:
    """Negative when a text has a word of complaint: enough to tell which clause says what."""

    name = "keywords"
    BAD = ("差", "慢", "坏", "bad", "late", "broke", "terrible")

    def __init__(self, fail_after: int | None = None):
        self.calls, self.fail_after = 0, fail_after

    def read(self, texts):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise InvalidInput("the model went away")
        return [Reading("negative", 0.9) if any(w in t.lower() for w in self.BAD) else Reading("positive", 0.1)
                for t in texts]


def _analyzer(reader=None):
    return reviews.ReviewAnalyzer(reader or KeywordReader(), aspects=DEFAULT_ASPECTS, products=PRODUCTS)


def test_each_aspect_takes_the_sentiment_of_its_own_clause():
    assert clauses("物流很快，但是质量很差!包装 ok") == ["物流很快", "质量很差", "包装 ok"]
    assert aspects_in("The delivery was late and the price high", DEFAULT_ASPECTS) == ["delivery", "price"]
    assert aspects_in("the seller shipped a cabled box", {"packaging": ("box",), "cable": ("cable",)}) == ["packaging"]
    [zh, en, single] = _analyzer().analyse([RawReview(1, "物流很快，但是质量很差"),
                                            RawReview(2, "Great earbuds but delivery was late"),
                                            RawReview(3, "充电宝质量差")])
    assert zh.aspects == {"quality": "negative", "delivery": "positive"} and zh.sentiment == "negative"
    assert zh.lang == "zh" and en.lang == "en"
    assert en.aspects == {"delivery": "negative"} and en.mentions == ("Wireless earbuds",)
    assert single.aspects == {"quality": "negative"} and single.mentions == ("Power bank",)


def test_personal_data_is_masked_before_anything_reads_or_stores_it(engine, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("review,product\n客服电话13812345678打不通，太差了,耳机\nmail me at jo@example.com,Mouse\n",
                    encoding="utf-8")
    result = reviews.analyse_file(engine, ReviewFile(path), _analyzer())
    with store.transaction(engine) as session:
        texts = [r.text for r in session.exec(select(Review).order_by(Review.id))]
    assert result.rows == 2 and texts == ["客服电话[PHONE]打不通，太差了", "mail me at [EMAIL]"]


def test_a_number_crossing_the_length_limit_is_masked_whole_before_the_cut():
    [review] = reviews.ReviewAnalyzer(KeywordReader(), aspects=DEFAULT_ASPECTS, max_chars=12).analyse(
        [RawReview(1, "太差了，客服电话13812345678打不通")])
    assert review.text == "太差了，客服电话"  # never half a mask tag, never a digit of the number


def test_product_aliases_match_whatever_the_case_folding_does():
    [review] = _analyzer().analyse([RawReview(1, "İ bought EARBUDS, ſo bad")])
    assert review.mentions == ("Wireless earbuds",)


def test_a_batch_is_stored_and_its_figures_read_back_the_same(engine, tmp_path):
    path = tmp_path / "r.csv"
    rows = ["product,date,review"]
    for day in range(1, 8):
        rows += [f"耳机,2026-11-0{day},音质很好", f"耳机,2026-11-0{day},物流太慢", f"充电宝,2026-11-0{day},这个充电宝质量差"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    seen = []
    result = reviews.analyse_file(engine, ReviewFile(path), _analyzer(), chunk=4,
                                  progress=lambda done, total: seen.append((done, total)))
    assert result.rows == 21 and result.skipped == 0
    assert seen[-1] == (path.stat().st_size, path.stat().st_size) and len(seen) >= 5
    stats = result.stats
    assert stats.sentiments == {"negative": 14, "positive": 7}
    assert stats.by_product["耳机"] == {"positive": 7, "negative": 7} and stats.by_product["充电宝"] == {"negative": 7}
    assert stats.by_aspect["delivery"] == {"negative": 7} and stats.by_aspect["quality"] == {"negative": 7}
    assert len(stats.by_day) == 7 and stats.negative_mentions == {"Power bank": 7}
    assert len(stats.most_negative) == 10 and all(score == 0.9 for score, _, _ in stats.most_negative)
    with store.transaction(engine) as session:
        batch = session.get(ReviewBatch, result.batch_id)
        assert (batch.status, batch.rows, batch.model) == ("done", 21, "keywords")
        again = reviews.batch_stats(session, batch_id=result.batch_id)
    assert (again.sentiments, again.by_product, again.by_aspect, again.by_day) == (
        stats.sentiments, stats.by_product, stats.by_aspect, stats.by_day)


def test_a_failure_part_way_keeps_the_stored_chunks_and_marks_the_batch_failed(engine, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("review\n" + "".join(f"review number {i}\n" for i in range(10)), encoding="utf-8")
    with pytest.raises(InvalidInput, match="went away"):
        reviews.analyse_file(engine, ReviewFile(path), _analyzer(KeywordReader(fail_after=2)), chunk=4)
    with store.transaction(engine) as session:
        batch = session.exec(select(ReviewBatch)).one()
        stored = session.exec(select(Review)).all()
    assert batch.status == "failed" and "went away" in batch.error and batch.rows == 4 and len(stored) == 4


def test_a_file_without_a_readable_review_fails_clearly(engine, tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("{broken\n{\"text\": \"\"}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="no readable review.*2 rows skipped"):
        reviews.analyse_file(engine, ReviewFile(path), _analyzer())


def test_memory_does_not_grow_with_the_file(engine, tmp_path):
    def peak(n: int) -> int:
        path = tmp_path / f"r{n}.csv"
        with path.open("w", encoding="utf-8") as f:
            f.write("product,date,review\n")
            for i in range(n):
                f.write(f"耳机,2026-11-{1 + i % 28:02d},第{i}条评论，物流{'很快' if i % 3 else '太慢'}，质量不错\n")
        tracemalloc.start()
        reviews.analyse_file(engine, ReviewFile(path), _analyzer(), chunk=200)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    small, large = peak(500), peak(5_000)
    assert large < 1.5 * small, (small, large)


def test_the_shop_may_name_its_own_aspects(knowledge_copy):
    assert load_aspects(knowledge_copy) is DEFAULT_ASPECTS
    (knowledge_copy / "aspects.yaml").write_text("battery: [battery, 电池, 续航]\nfit: [size, 尺码]\n", encoding="utf-8")
    aspects = load_aspects(knowledge_copy)
    assert aspects == {"battery": ("battery", "电池", "续航"), "fit": ("size", "尺码")}
    (knowledge_copy / "aspects.yaml").write_text("Battery: battery\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="lower_snake_case"):
        load_aspects(knowledge_copy)


def test_stored_review_dates_are_utc(engine, tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"text": "ok", "date": "2026-11-29T10:00:00+08:00"}\n', encoding="utf-8")
    reviews.analyse_file(engine, ReviewFile(path), _analyzer())
    with store.transaction(engine) as session:
        stored = session.exec(select(Review)).one().reviewed_at
    assert stored.replace(tzinfo=stored.tzinfo or timezone.utc) == datetime(2026, 11, 29, 2, tzinfo=timezone.utc)
