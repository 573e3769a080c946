"""Values a customer's message carries that a reply may need: order ids, amounts, dates, and which
kinds of personal data it contained (masked before this runs, so only the kind is known)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from assistant.pii import TAGS

_AMOUNT = re.compile(
    r"(?:[¥￥$]|RMB|CNY|USD)\s?(\d{1,7}(?:[.,]\d{1,2})?)"
    r"|(\d{1,7}(?:\.\d{1,2})?)\s?(?:元|块钱|块|rmb|yuan|RMB|CNY|dollars?|bucks)",
    re.IGNORECASE)
_DATE = re.compile(
    r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b"
    r"|\d{1,2}月\d{1,2}[日号]"
    r"|\b\d{1,2}/\d{1,2}\b"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s\d{1,2}(?:st|nd|rd|th)?\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)?\s(?:of\s)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b"
    r"|\b(?:today|yesterday|tomorrow|last week|next week)\b|今天|昨天|明天|前天|上周|下周",
    re.IGNORECASE)


@dataclass(frozen=True)
class Entity:
    kind: str   # order_id | product | amount | date | phone | email | card | id_number
    value: str  # the text as written; for a product, its catalog name; for personal data, its mask tag


@lru_cache(maxsize=8)
def _product_pattern(products: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[re.Pattern | None, list[str]]:
    """One alternation of every alias, longest first, each its own group, and the product name per group.

    The name comes from the group that matched, not from the matched text: case-insensitive matching can
    match text that does not lower-case back to the alias ("İPAD").
    """
    aliases = sorted({(alias, name) for name, names in products for alias in names}, key=lambda a: -len(a[0]))
    if not aliases:
        return None, []
    # Latin words match whole ("cable", not "cabled"); Chinese has no spaces, so a substring is the word.
    alternatives = [rf"(?<![A-Za-z0-9])({re.escape(a)})(?![A-Za-z0-9])" if a.isascii() else f"({re.escape(a)})"
                    for a, _ in aliases]
    return re.compile("|".join(alternatives), re.IGNORECASE), [name for _, name in aliases]


def product_mentions(text: str, products: Mapping[str, tuple[str, ...]]) -> list[tuple[int, str]]:
    """(position, product name) of every catalog product the text names, by any of its aliases.

    Example:
        >>> product_mentions("my earbuds and 充电宝", {"Wireless earbuds": ("earbuds",), "Power bank": ("充电宝",)})
        [(3, 'Wireless earbuds'), (15, 'Power bank')]
    """
    pattern, names = _product_pattern(tuple((name, tuple(aliases)) for name, aliases in products.items()))
    if pattern is None:
        return []
    return [(m.start(), names[m.lastindex - 1]) for m in pattern.finditer(text)]


def extract_entities(text: str, order_id_pattern: str,
                     products: Mapping[str, tuple[str, ...]] | None = None) -> tuple[Entity, ...]:
    """Entities in a masked message, in order of appearance.

    Example:
        >>> extract_entities("MM20261104 cost ¥199, refund?", r"MM\\d{8}")
        (Entity(kind='order_id', value='MM20261104'), Entity(kind='amount', value='¥199'))
    """
    found: list[tuple[int, Entity]] = []
    for m in re.finditer(rf"(?<![A-Za-z0-9])(?:{order_id_pattern})(?![A-Za-z0-9])", text, re.IGNORECASE):
        found.append((m.start(), Entity("order_id", m.group().upper())))
    seen: set[str] = set()
    for start, name in product_mentions(text, products or {}):
        if name not in seen:  # "earbuds ... the earbuds" is one product mentioned
            seen.add(name)
            found.append((start, Entity("product", name)))
    for m in _AMOUNT.finditer(text):
        found.append((m.start(), Entity("amount", m.group().strip())))
    for m in _DATE.finditer(text):
        found.append((m.start(), Entity("date", m.group())))
    for kind, tag in TAGS.items():
        for m in re.finditer(re.escape(tag), text):
            found.append((m.start(), Entity(kind, tag)))
    return tuple(entity for _, entity in sorted(found, key=lambda pair: pair[0]))
