"""Cleaning a customer's raw text before anything else sees it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Control and format characters except the whitespace a customer may type (tab, newline).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_SPACES = re.compile(r"[ \t\u3000]+")
_NEWLINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class CleanText:
    text: str
    truncated: bool
    original_length: int


def clean_message(raw: str | None, max_chars: int) -> CleanText:
    """Strip control characters, normalise width and spacing, and cut at `max_chars` characters."""
    text = unicodedata.normalize("NFC", raw or "").replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _NEWLINES.sub("\n\n", "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))).strip()
    original = len(text)
    if original > max_chars:
        text = text[:max_chars].rstrip()
    return CleanText(text, original > max_chars, original)
