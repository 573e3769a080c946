"""The faithfulness guard: a model's draft may only state facts its sources or the customer gave.

Fact-like tokens are numbers (amounts, durations, dates, percentages, quantities: digits, and number
words in English and Chinese such as "three" or "三十"), order ids, URLs and e-mail addresses. A draft
passes only when every one of them also appears in the sources (the retrieved answers, filled with the
shop's facts) or in the customer's message, and it is written in the customer's language. Otherwise
the assistant sends the filled template instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.language import detect_language

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'，。！？、）)]+", re.IGNORECASE)
_URL_SCHEME = re.compile(r"^(?:https?://)?(?:www\.)?")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_ZH_NUMBER = re.compile(f"[{''.join(_ZH_DIGITS)}{''.join(_ZH_UNITS)}]+")
_EN_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
                                                      "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100}
_EN_NUMBER = re.compile(r"\b(" + "|".join(sorted(_EN_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)
# Chinese words that contain a numeral but state no fact ("一下" = "a moment", "一些" = "some").
_ZH_IDIOMS = re.compile(r"一下|一些|一点|一起|一直|一定|一样|一般|一旦|统一|唯一|万一|一切|之一|第一时间|十分|千万|一律")


@dataclass(frozen=True)
class Verdict:
    """Whether a draft may be sent, and if not, why."""

    ok: bool
    unsupported: tuple[str, ...] = ()   # fact-like tokens found in no source
    reason: str = ""


def fact_tokens(text: str, order_id_pattern: str | None = None) -> set[str]:
    """The fact-like tokens of `text`, normalised so that "2,000", "2000" and "两千" compare equal.

    Example:
        >>> sorted(fact_tokens("Refunds take 3-5 days, see https://shop.example/returns or write to a@b.cn"))
        ['3', '5', 'a@b.cn', 'url:shop.example/returns']
    """
    tokens: set[str] = set()
    rest = text
    for pattern, kind in ((_URL, "url"), (_EMAIL, "email")):
        for match in pattern.findall(rest):
            value = match.rstrip(".,;:!?").lower()
            tokens.add("url:" + _URL_SCHEME.sub("", value).rstrip("/") if kind == "url" else value)
        rest = pattern.sub(" ", rest)
    if order_id_pattern:
        for match in re.finditer(rf"(?<![A-Za-z0-9])(?:{order_id_pattern})(?![A-Za-z0-9])", rest, re.IGNORECASE):
            tokens.add(match.group().upper())
        rest = re.sub(rf"(?<![A-Za-z0-9])(?:{order_id_pattern})(?![A-Za-z0-9])", " ", rest, flags=re.IGNORECASE)
    for match in _NUMBER.findall(rest):
        tokens.add(_canonical(match.replace(",", "")))
    rest = _ZH_IDIOMS.sub(" ", rest)
    # A lone "one" / "一" is mostly an article ("one of our agents", "一个订单"), not a fact.
    for match in _ZH_NUMBER.findall(rest):
        tokens.update(str(value) for value in _zh_values(match) if value != 1 or len(match) > 1)
    for match in _EN_NUMBER.findall(rest):
        if match.lower() != "one":
            tokens.add(str(_EN_WORDS[match.lower()]))
    return tokens


def check(draft: str, sources: list[str], message: str, *, lang: str, order_id_pattern: str | None = None) -> Verdict:
    """May `draft` be sent to a customer who wrote `message` in `lang`, given the texts it drew on?"""
    if not draft.strip():
        return Verdict(False, reason="the draft is empty")
    if detect_language(draft) != lang:
        return Verdict(False, reason=f"the draft is not in the customer's language ({lang})")
    allowed = fact_tokens(message, order_id_pattern)
    for source in sources:
        allowed |= fact_tokens(source, order_id_pattern)
    unsupported = tuple(sorted(fact_tokens(draft, order_id_pattern) - allowed))
    if unsupported:
        return Verdict(False, unsupported, f"the draft states {', '.join(unsupported[:5])}, found in no source")
    return Verdict(True)


def _canonical(number: str) -> str:
    if "." in number:
        number = number.rstrip("0").rstrip(".") or "0"
    whole, dot, frac = number.partition(".")
    return (whole.lstrip("0") or "0") + (dot + frac if frac else "")


def _zh_values(text: str) -> list[int]:
    """三十五 -> [35], 两千 -> [2000], 一百零八 -> [108]; digits without units are a range: 三五 -> [3, 5]."""
    if not any(char in _ZH_UNITS for char in text):
        return [_ZH_DIGITS[char] for char in text]
    total, section, digit = 0, 0, None
    for char in text:
        if char in _ZH_DIGITS:
            digit = _ZH_DIGITS[char]
        elif _ZH_UNITS[char] == 10000:
            total, section, digit = (total + section + (digit or 0)) * 10000, 0, None
        else:
            section += (digit if digit is not None else 1) * _ZH_UNITS[char]
            digit = None
    return [total + section + (digit or 0)]
