import pytest

from assistant.pii import id_number_ok, luhn_ok, mask


@pytest.mark.parametrize("text, masked, kinds", [
    ("mail me at jane.doe+shop@example.co.uk please", "mail me at [EMAIL] please", ("email",)),
    ("我的手机 13800138000", "我的手机 [PHONE]", ("phone",)),
    ("call +86 138 0013 8000 now", "call [PHONE] now", ("phone",)),
    ("office 010-62345678", "office [PHONE]", ("phone",)),
    ("card 4111 1111 1111 1111 was charged", "card [CARD] was charged", ("card",)),
    ("身份证 11010519491231002X", "身份证 [ID]", ("id_number",)),
    # Chinese writes numbers straight after words, and full-width digits
    ("我的手机号是13800138000，卡号4111111111111111", "我的手机号是[PHONE]，卡号[CARD]", ("phone", "card")),
    ("手机１３８００１３８０００谢谢", "手机[PHONE]谢谢", ("phone",)),
    ("邮箱ａｂｃ＠ｅｘａｍｐｌｅ．ｃｏｍ，谢谢！", "邮箱[EMAIL]，谢谢！", ("email",)),
])
def test_personal_data_is_masked(text, masked, kinds):
    result = mask(text)
    assert result.text == masked and result.found == kinds


@pytest.mark.parametrize("text", [
    "where is order MM20261104?",
    "tracking 4111 1111 1111 1112",   # fails the Luhn check: not a card
    "refund of ¥199.00 on 2026-11-04",
    "身份证 110105194912310021",        # wrong check character
])
def test_non_personal_numbers_are_kept(text):
    assert mask(text).text == text


def test_checksums():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert id_number_ok("11010519491231002X") and not id_number_ok("110105194912310021")
