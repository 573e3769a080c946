"""Values a customer's message carries that a reply may need: order ids, amounts, dates, and which
kinds of personal data it contained (masked before this runs, so only the kind is known)."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    kind: str   # order_id | amount | date | phone | email | card | id_number
    value: str  # the text as written; for personal data, its mask tag


def extract_entities(text: str, order_id_pattern: str) -> tuple[Entity, ...]:
    """Entities in a masked message, in order of appearance.

    Example:
        >>> extract_entities("MM20261104 cost ¥199, refund?", r"MM\\d{8}")
        (Entity(kind='order_id', value='MM20261104'), Entity(kind='amount', value='¥199'))
    """
    found: list[tuple[int, Entity]] = []
    for m in re.finditer(rf"(?<![A-Za-z0-9])(?:{order_id_pattern})(?![A-Za-z0-9])", text, re.IGNORECASE):
        found.append((m.start(), Entity("order_id", m.group().upper())))
    for m in _AMOUNT.finditer(text):
        found.append((m.start(), Entity("amount", m.group().strip())))
    for m in _DATE.finditer(text):
        found.append((m.start(), Entity("date", m.group())))
    for kind, tag in TAGS.items():
        for m in re.finditer(re.escape(tag), text):
            found.append((m.start(), Entity(kind, tag)))
    return tuple(entity for _, entity in sorted(found, key=lambda pair: pair[0]))
