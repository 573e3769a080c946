import pytest

from assistant.guard import words
from finetune.text_metrics import chrf, rouge_l


def test_chrf_is_100_for_identical_text_0_for_disjoint_and_ranks_closer_drafts_higher():
    assert chrf(["Refunds take 3-5 days."], ["Refunds take 3-5 days."]) == pytest.approx(100)
    assert chrf(["xyz"], ["abc"]) == 0.0
    reference = ["Your refund reaches your account within 3-5 working days."]
    close = chrf(["Your refund reaches the account in 3-5 working days."], reference)
    far = chrf(["Please contact support."], reference)
    assert 50 < close < 100 and far < close
    # Whitespace does not count; Chinese is compared character by character.
    assert chrf(["退款 三到五天"], ["退款三到五天"]) == pytest.approx(100)
    with pytest.raises(ValueError):
        chrf(["a"], [])


def test_chrf_by_hand_on_a_tiny_case():
    # "ab" vs "ac": order 1 matches a (1 of 2 each way), order 2: none of 1. Orders 3-6 have no n-grams.
    # P = R = (1/2 + 0/1) / 2 = 0.25, F2 = 0.25.
    assert chrf(["ab"], ["ac"]) == pytest.approx(25.0)


def test_rouge_l_uses_words_and_chinese_characters():
    assert words("I'm OK, 退款3天") == ["i'm", "ok", "退", "款", "3", "天"]
    assert rouge_l(["a b c d"], ["a b c d"]) == pytest.approx(100)
    # LCS of "a x c d" and "a b c d" is 3 of 4 tokens each way: F1 = 0.75.
    assert rouge_l(["a x c d"], ["a b c d"]) == pytest.approx(75)
    assert rouge_l(["退款三天"], ["退款五天"]) == pytest.approx(75)
    assert rouge_l([""], ["a"]) == 0.0 and rouge_l([], []) == 0.0
