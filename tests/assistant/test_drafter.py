import pytest

from assistant.drafter import TemplateDrafter
from assistant.entities import Entity
from assistant.types import Route
from retrieval.knowledge import FaqEntry, load_knowledge
from retrieval.retriever import Hit
from tests.conftest import KNOWLEDGE

SHOP = load_knowledge(KNOWLEDGE).shop


def draft(answer, lang, entities=()):
    entry = FaqEntry(f"{lang}-1", "order_status", lang, "q", answer)
    route = Route("order_status", 0.9, False, "neutral", 0.9, 0.0, entities=tuple(entities), lang=lang)
    return TemplateDrafter(SHOP).draft("q", route, [Hit(entry, 0.9, 0.9, 0.9)])


def test_fills_entities_and_shop_facts():
    result = draft("I've checked {order_id}; returns within {return_days} days at {shop_name}.", "en",
                   [Entity("order_id", "MM20261104")])
    assert result.text == "I've checked order MM20261104; returns within 7 days at Maple Market."
    assert result.source == "template" and result.template_id == "en-1"


def test_missing_entities_read_naturally_in_chinese():
    result = draft("已为您查询{order_id}，退款{amount}会在{refund_days}内到账。", "zh")
    assert result.text == "已为您查询您的订单，退款您支付的金额会在3-7 个工作日内到账。"


def test_no_hit_is_a_programming_error():
    route = Route("x", 0.9, False, "neutral", 0.9, 0.0)
    with pytest.raises(ValueError):
        TemplateDrafter(SHOP).draft("q", route, [])
