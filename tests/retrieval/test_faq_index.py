import json

import pytest

from retrieval.errors import IndexMismatchError
from retrieval.faq_index import FaqIndex, question_key, read_entries
from retrieval.index import IndexParams
from retrieval.knowledge import FaqEntry
from retrieval.retriever import Retriever

BASE = [
    FaqEntry("en-1", "order_status", "en", "Where is my order?", "Check {order_id} in My orders."),
    FaqEntry("en-2", "return_request", "en", "How do I return a jacket?", "Start a return in My orders."),
    FaqEntry("zh-1", "order_status", "zh", "我的订单到哪了", "请在我的订单里查看物流。"),
]


def imported(entry_id, question, answer="See the help page.", lang="en"):
    return FaqEntry(entry_id, "", lang, question, answer, source="export.csv")


def test_question_key_ignores_case_width_spacing_punctuation():
    assert question_key("Where is my ORDER?!") == question_key("where is my order")
    assert question_key("我的订单到哪了？") == question_key("我的订单 到哪了")
    assert question_key("Where is my order") != question_key("Where is my refund")


def test_upsert_adds_updates_and_skips_duplicates(tmp_path, hash_embedder):
    faq = FaqIndex.build(BASE, hash_embedder, knowledge_hash="k")
    report = faq.upsert([
        imported("x-1", "Can I pay with PayPal?"),
        imported("x-2", "can i pay with paypal"),             # same question up to case and punctuation
        imported("x-3", "Do you ship to Canada?"),
        FaqEntry("en-2", "return_request", "en", "How do I return a jacket?", "Returns are free for 30 days."),
        BASE[0],                                              # unchanged
        imported("x-4", "我的订单到哪了", lang="en"),           # same words, another language: not a duplicate
    ], hash_embedder, dedup_threshold=0.99, batch_size=2)
    assert report.as_dict() == {"added": 3, "updated": 1, "unchanged": 1, "removed": 0, "duplicates": 1}
    assert report.duplicates == [("can i pay with paypal", "x-1")]
    assert faq.get("en-2").answer == "Returns are free for 30 days." and faq.count == 6

    # A changed question gets a new vector: the old wording no longer finds it first.
    faq.upsert([imported("x-3", "Which countries do you deliver to?")], hash_embedder)
    keys = faq.index.search(hash_embedder.encode(["which countries do you deliver to"]), k=1)[1][0]
    assert faq.entry_at(keys[0]).id == "x-3" and faq.count == 6

    faq.save(tmp_path / "idx")
    again = FaqIndex.open(tmp_path / "idx", hash_embedder)
    assert [e.id for e in again.entries()] == [e.id for e in faq.entries()]
    assert again.get("x-1").source == "export.csv"


def test_near_duplicates_by_vector_within_a_batch_and_against_the_index(hash_embedder):
    faq = FaqIndex.build(BASE, hash_embedder, knowledge_hash="k")
    report = faq.upsert([imported("x-1", "where is my order now"), imported("x-2", "parcel tracking please"),
                         imported("x-3", "parcel tracking please now")], hash_embedder, dedup_threshold=0.8)
    # Hash vectors of texts sharing all but one word have cosine ~0.87 (4 of 5 words) / ~0.89.
    assert [d[1] for d in report.duplicates] == ["en-1", "x-2"] and report.added == 1
    assert faq.upsert([imported("x-5", "parcel tracking please now")], hash_embedder,
                      dedup_threshold=None).added == 1  # no threshold: only exact repeats are skipped


def test_remove_and_sync_with_the_knowledge_keep_imported_entries(hash_embedder):
    faq = FaqIndex.build(BASE, hash_embedder, knowledge_hash="k1")
    faq.upsert([imported("x-1", "Can I pay with PayPal?")], hash_embedder)
    changed = [BASE[0], FaqEntry("en-2", "return_request", "en", "How can I send back a jacket?", "Use My orders."),
               FaqEntry("en-3", "shipping_cost", "en", "How much is shipping?", "Free over 99.")]
    report = faq.sync_knowledge(changed, hash_embedder, knowledge_hash="k2")
    assert report.as_dict() == {"added": 1, "updated": 1, "unchanged": 1, "removed": 1, "duplicates": 0}
    assert sorted(e.id for e in faq.entries()) == ["en-1", "en-2", "en-3", "x-1"]
    assert faq.meta["knowledge_hash"] == "k2"
    assert faq.remove(["x-1", "nope"]) == 1 and faq.get("x-1") is None and faq.count == 3


def test_open_refuses_damaged_or_mismatched_folders(tmp_path, hash_embedder):
    FaqIndex.build(BASE, hash_embedder, knowledge_hash="k").save(tmp_path / "idx")
    assert len(read_entries(tmp_path / "idx")) == 3
    with pytest.raises(IndexMismatchError, match="type 'flat'.*'ivfpq'"):
        FaqIndex.open(tmp_path / "idx", hash_embedder, IndexParams(kind="ivfpq"))
    lines = (tmp_path / "idx" / "entries.jsonl").read_text().splitlines()
    (tmp_path / "idx" / "entries.jsonl").write_text("\n".join(lines[:2]) + "\n")
    with pytest.raises(IndexMismatchError, match="2 entries, the index 3"):
        FaqIndex.open(tmp_path / "idx", hash_embedder)
    (tmp_path / "idx" / "entries.jsonl").write_text(json.dumps({"id": "no key"}) + "\n")
    with pytest.raises(IndexMismatchError, match="damaged"):
        FaqIndex.open(tmp_path / "idx", hash_embedder)


def test_retriever_over_an_approximate_index_reranks_its_candidate_pool(tmp_path, hash_embedder):
    """Past `exact_pool` entries the retriever scores a dense candidate pool; the result is the same entry."""
    filler = [imported(f"f-{i}", f"filler question number {i} about topic {i % 37}") for i in range(3000)]
    faq = FaqIndex.build(BASE + filler, hash_embedder, knowledge_hash="k", params=IndexParams(exact_max=1000))
    assert faq.index.kind == "hnsw"
    faq.save(tmp_path / "idx")
    retriever = Retriever(tmp_path / "idx", hash_embedder, lexical_weight=0.3, exact_pool=1000)
    hits = retriever.search("where is my order", k=3)
    assert hits[0].id == "en-1" and len(hits) == 3 and hits[0].score >= hits[1].score
    assert retriever.search("我的订单到哪了", k=2)[0].id == "zh-1"
    small = Retriever(tmp_path / "idx", hash_embedder, lexical_weight=0.3, exact_pool=10_000)
    assert small.search("where is my order", k=1)[0].id == "en-1"


def test_an_index_refuses_two_entries_with_one_id(hash_embedder):
    with pytest.raises(IndexMismatchError, match="'en-1' appears more than once"):
        FaqIndex.build(BASE + [BASE[0]], hash_embedder, knowledge_hash="k")


def test_an_empty_index_answers_nothing(tmp_path, hash_embedder):
    FaqIndex.build([], hash_embedder, knowledge_hash="k").save(tmp_path / "idx")
    assert Retriever(tmp_path / "idx", hash_embedder).search("where is my order") == []


def test_pool_mode_searches_the_messages_language_when_the_pool_has_none(tmp_path, hash_embedder):
    english = [imported(f"f-{i}", f"order question {i} about where my order is") for i in range(1500)]
    chinese = FaqEntry("zh-9", "order_status", "zh", "订单", "请在我的订单里查看。")
    faq = FaqIndex.build(english + [chinese], hash_embedder, knowledge_hash="k", params=IndexParams(exact_max=100))
    faq.save(tmp_path / "idx")
    retriever = Retriever(tmp_path / "idx", hash_embedder, exact_pool=100, pool=20)
    # The message shares its words with the English entries only; it is still Chinese (as the router says).
    hits = retriever.search("where is my order", k=3, lang="zh")
    assert [h.id for h in hits] == ["zh-9"]


def test_ivf_index_serves_the_language_fallback_after_removals(tmp_path, hash_embedder):
    english = [imported(f"f-{i}", f"order question {i} about where my order is") for i in range(1500)]
    chinese = FaqEntry("zh-9", "order_status", "zh", "订单", "请在我的订单里查看。")
    faq = FaqIndex.build(english + [chinese], hash_embedder, knowledge_hash="k", params=IndexParams(kind="ivfsq8"))
    faq.remove(["f-3"])
    faq.upsert([imported("f-4", "a new wording of question four")], hash_embedder)  # a new key
    faq.save(tmp_path / "idx")
    retriever = Retriever(tmp_path / "idx", hash_embedder, exact_pool=100, pool=20,
                          params=IndexParams(kind="ivfsq8"))
    assert [h.id for h in retriever.search("where is my order", k=3, lang="zh")] == ["zh-9"]
    # Reading vectors back leaves the index able to change.
    index = retriever._loaded.faq.index
    assert index.remove([index.ids()[0]]) == 1
    index.add(hash_embedder.encode(["one more"]), [99_999])
