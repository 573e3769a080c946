import numpy as np

from retrieval.knowledge import FaqEntry
from retrieval.retriever import Retriever, build_index, fuse_scores

ENTRIES = [
    FaqEntry("en-1", "order_status", "en", "Where is my order?", "Check {order_id} in My orders."),
    FaqEntry("en-2", "return_request", "en", "How do I return a jacket?", "Start a return in My orders."),
    FaqEntry("en-3", "shipping_cost", "en", "How much does shipping cost?", "Free over ¥99."),
    FaqEntry("zh-1", "order_status", "zh", "我的订单到哪了", "请在我的订单里查看物流。"),
    FaqEntry("zh-2", "return_request", "zh", "衣服怎么退货", "在我的订单里申请退货。"),
]


def test_fuse_scores_leans_on_ngrams_when_the_encoder_cannot_read():
    dense, lexical = np.array([0.9, 0.1]), np.array([0.1, 0.9])
    assert fuse_scores(dense, lexical, 0.3).argmax() == 0
    assert fuse_scores(dense, lexical, 0.3, unknown_fraction=1.0).tolist() == lexical.tolist()


def test_search_finds_the_entry_in_the_message_language(tmp_path, hash_embedder):
    build_index(ENTRIES, hash_embedder, tmp_path, knowledge_hash="h")
    retriever = Retriever(tmp_path, hash_embedder, lexical_weight=0.3)
    hits = retriever.search("where is my order", k=3)
    assert hits[0].id == "en-1" and all(h.entry.lang == "en" for h in hits)
    assert hits[0].score > hits[1].score
    zh = retriever.search("衣服要退货怎么弄", k=2)
    assert zh[0].id == "zh-2" and {h.entry.lang for h in zh} == {"zh"}
    assert retriever.meta["knowledge_hash"] == "h"


def test_intent_prior_reorders_but_does_not_change_scores(tmp_path, hash_embedder):
    build_index(ENTRIES, hash_embedder, tmp_path, knowledge_hash="h")
    retriever = Retriever(tmp_path, hash_embedder)
    plain = retriever.search("my jacket order", k=3)
    lifted = retriever.search("my jacket order", k=3, intent_prior={"shipping_cost": 1.0}, prior_weight=1.0)
    assert lifted[0].id == "en-3" and plain[0].id != "en-3"
    assert {h.id: h.score for h in lifted}["en-3"] == {h.id: h.score for h in retriever.search("my jacket order", k=5)}["en-3"]
