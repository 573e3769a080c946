from assistant.entities import extract_entities
from assistant.pii import mask


def test_order_amount_date_and_masked_kinds():
    text = mask("order mm20261104 cost ¥199.50 on 2026-11-04, mail me at a@b.com").text
    entities = extract_entities(text, r"MM\d{8}")
    assert [(e.kind, e.value) for e in entities] == [
        ("order_id", "MM20261104"), ("amount", "¥199.50"), ("date", "2026-11-04"), ("email", "[EMAIL]")]


def test_chinese_amounts_and_dates():
    entities = extract_entities("订单MM12345678昨天付了299元", r"MM\d{8}")
    kinds = {(e.kind, e.value) for e in entities}
    assert ("order_id", "MM12345678") in kinds and ("amount", "299元") in kinds and ("date", "昨天") in kinds


def test_order_id_inside_a_longer_code_is_not_an_order():
    assert extract_entities("XMM123456789", r"MM\d{8}") == ()
