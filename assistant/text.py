"""Cleaning a customer's raw text, and cutting it to size without splitting a mask tag."""

from __future__ import annotations

import re
import unicodedata

# Control and format characters except the whitespace a customer may type (tab, newline).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_SPACES = re.compile(r"[ \t\u3000]+")
_NEWLINES = re.compile(r"\n{3,}")
_PARTIAL_TAG = re.compile(r"\[[A-Z]*$")


def clean_text(raw: str | None) -> str:
    """Strip control characters and normalise line ends and spacing (nothing is cut here)."""
    text = unicodedata.normalize("NFC", raw or "").replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return _NEWLINES.sub("\n\n", "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))).strip()


def cut(text: str, max_chars: int) -> tuple[str, bool]:
    """`text` cut to `max_chars` characters (never inside a trailing `[TAG]`), and whether it was cut."""
    if len(text) <= max_chars:
        return text, False
    return _PARTIAL_TAG.sub("", text[:max_chars]).rstrip(), True
