import pytest

from retrieval.language import detect_language


@pytest.mark.parametrize("text, lang", [
    ("where is my order?", "en"),
    ("我的订单到哪了", "zh"),
    ("MM20261104 到哪了", "zh"),
    ("is the 羽绒服 in stock", "en"),
    ("退款 refund", "zh"),
    ("12345", "en"),
])
def test_detect_language(text, lang):
    assert detect_language(text) == lang
