"""Property tests: no phone, e-mail, card or Chinese ID number survives masking, wherever it sits in a text
of either language; and masking never invents a tag where there was nothing personal."""

import os
import random
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.pii import TAGS, id_number_ok, luhn_ok, mask

ZH = "我的订单还没到请帮忙查一下谢谢电话手机号码是联系邮箱卡号身份证退款物流快递太慢了质量"
SEPARATORS = ["", " ", "，", "：", ":", "\n", "（", "）", "、", "; ", "。"]
# Derandomised: CI runs the same examples every time (a search for new failures: HYPOTHESIS_PROFILE=explore).
settings.register_profile("shop", max_examples=150, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "shop"))


def _digits(draw, n: int) -> str:
    return "".join(draw(st.sampled_from(string.digits)) for _ in range(n))


@st.composite
def phones(draw) -> str:
    kind = draw(st.sampled_from(["mobile", "mobile_spaced", "plus86", "landline", "intl"]))
    if kind.startswith("mobile") or kind == "plus86":
        number = "1" + draw(st.sampled_from("3456789")) + _digits(draw, 9)
        if kind == "mobile_spaced":
            sep = draw(st.sampled_from([" ", "-"]))
            number = f"{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}"
        return ("+86 " if kind == "plus86" else "") + number
    if kind == "landline":
        return "0" + draw(st.sampled_from(["10", "21", "755", "571"])) + "-" + _digits(draw, 8)
    return "+" + draw(st.sampled_from(["1", "44", "49", "33"])) + " " + _digits(draw, 3) + " " + _digits(draw, 3) + " " \
        + _digits(draw, 4)


@st.composite
def emails(draw) -> str:
    user = draw(st.text(string.ascii_lowercase + string.digits + "._+", min_size=1, max_size=12).filter(
        lambda u: u[0] not in "._+" and u[-1] not in "._+"))
    host = draw(st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10))
    return f"{user}@{host}.{draw(st.sampled_from(['com', 'cn', 'com.cn', 'example', 'io']))}"


@st.composite
def cards(draw) -> str:
    prefix = draw(st.sampled_from(["4", "51", "55", "62", "37"]))
    length = 15 if prefix == "37" else 16
    body = prefix + _digits(draw, length - len(prefix) - 1)
    check = next(d for d in string.digits if luhn_ok(body + d))
    number = body + check
    if draw(st.booleans()):
        number = " ".join(number[i:i + 4] for i in range(0, len(number), 4))
    return number


@st.composite
def id_numbers(draw) -> str:
    rng = random.Random(draw(st.integers(0, 2**32)))
    body = f"{rng.randint(110000, 659999)}{rng.randint(1950, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" \
           f"{rng.randint(0, 999):03d}"
    return next(body + c for c in "0123456789X" if id_number_ok(body + c))


@st.composite
def contexts(draw) -> tuple[str, str]:
    words = st.text(alphabet=ZH + string.ascii_letters + " ,.!?", max_size=30)
    return draw(words) + draw(st.sampled_from(SEPARATORS)), draw(st.sampled_from(SEPARATORS)) + draw(words)


def _digits_of(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _gone(value: str, text: str) -> bool:
    """Neither the value nor its run of digits is left in the masked text."""
    return value not in text and (len(_digits_of(value)) < 7 or _digits_of(value) not in _digits_of(text))


@given(st.one_of(phones(), cards(), id_numbers()), contexts())
def test_no_number_survives_wherever_it_sits(value, context):
    before, after = context
    if before[-1:].isdigit() or after[:1].isdigit():  # digits around it make another, longer number
        return
    if value.startswith("0") and before[-1:].isascii() and before[-1:].isalpha():
        return  # a landline glued to a letter reads as a tracking number (JDX0123456789): the documented trade
    masked = mask(before + value + after)
    assert _gone(value, masked.text), (before + value + after, masked.text)
    assert masked.found


@given(emails(), contexts())
def test_no_email_survives(value, context):
    before, after = context
    if before[-1:].isalnum() or before[-1:] in "._+-" or after[:1].isalnum() or after[:1] in "._-@":
        return  # letters glued on make it another address
    masked = mask(before + value + after)
    assert value not in masked.text and "[EMAIL]" in masked.text


@given(st.lists(st.one_of(phones(), emails(), cards(), id_numbers()), min_size=2, max_size=4),
       st.sampled_from(["，", " ; ", " 和 ", "\n", " or "]))
def test_several_in_one_text_are_all_masked(values, joiner):
    masked = mask("联系我：" + joiner.join(values) + "。thanks")
    assert all(_gone(v, masked.text) for v in values), masked.text
    assert len(masked.found) >= len(values)


@given(st.text(alphabet=ZH + string.ascii_letters + " ,.!?¥$", max_size=80),
       st.sampled_from(["MM20261104", "¥1299", "$35.50", "2026-11-29", "10:30", "iPhone 15", "RTX 4090", "100080",
                        "3-5 days", "99 元", "12 个月"]))
def test_nothing_personal_means_no_tag(words, value):
    text = f"{words} {value} {words}"
    masked = mask(text)
    assert masked.found == () and not any(tag in masked.text for tag in TAGS.values())
