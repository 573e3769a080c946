"""Masking personal data before anything is stored, routed or trained on.

Masked: e-mail addresses, payment card numbers (Luhn-checked), Chinese resident ID numbers (checksum),
and phone numbers (Chinese mobiles, landlines with area code, international +CC numbers).
Each is replaced by a tag such as `[EMAIL]`, so a message keeps its meaning for the models.
Order ids are not personal data and stay as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.text import clean_text, cut

# Characters past a length limit that are masked before cutting: longer than any phone, card or e-mail.
CUT_MARGIN = 256

TAGS = {"email": "[EMAIL]", "card": "[CARD]", "id_number": "[ID]", "phone": "[PHONE]"}

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# 13-19 digits, optionally grouped by single spaces or dashes. Cards and ID numbers pass a checksum, so they
# are masked even glued to letters ("card4111111111111111", "ID11010519491231002Xa"): only digits around
# them mean a longer number.
_CARD = re.compile(r"(?<![0-9])(?:\d[ \-]?){12,18}\d(?![0-9])")
_ID_NUMBER = re.compile(r"(?<![0-9])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9])")
_PHONE = re.compile(
    # Masked even glued to words in either language ("tel13800138000", "call+8613800138000", 电话010-12345678):
    # an unmasked phone costs more than a masked look-alike. Only digits (and a leading +) around one mean a
    # longer number. (`\w` would count Chinese characters as part of the number.)
    r"(?<![0-9+])\+\d{1,3}[ \-]?(?:\(?\d{1,4}\)?[ \-]?){2,4}\d{2,4}(?![0-9])"   # international: +86 138 0013 8000
    r"|(?<![0-9+\-])(?:0086[ \-]?)?1[3-9]\d[ \-]?\d{4}[ \-]?\d{4}(?![0-9])"    # Chinese mobile: 13800138000
    r"|(?<![0-9+])(?:"
    r"0\d{2,3}[ \-]\d{7,8}"                                      # Chinese landline: 010-12345678
    r"|\(?\d{3}\)?[ \-.]\d{3}[ \-.]\d{4}"                        # North American: (415) 555-0100
    r")(?![0-9])"
)
# Full-width digits, letters and the signs of numbers and addresses (１３８…, ＋８６, ＠) as Chinese keyboards
# type them; Chinese punctuation (，！？) stays as it is.
_FULLWIDTH = {ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９＋－．＠（）＿"}
_FULLWIDTH |= {cp: cp - 0xFEE0 for cp in [*range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class Masked:
    text: str
    found: tuple[str, ...]  # the kinds masked, in order of appearance: ("phone", "email")


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def id_number_ok(number: str) -> bool:
    """The ISO 7064 check character of an 18-character Chinese resident ID number."""
    body, check = number[:17], number[17].upper()
    return _ID_CHECK[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS)) % 11] == check


def mask(text: str) -> Masked:
    """Replace personal data in `text` with tags; report which kinds were found.

    Full-width digits and letters are folded to ASCII first, so the masked text may differ there.

    Example:
        >>> mask("call me on 138 0013 8000 or a@b.com").text
        'call me on [PHONE] or [EMAIL]'
    """
    text = text.translate(_FULLWIDTH)
    found: list[tuple[int, str]] = []

    def replacer(kind: str, check=None):
        def sub(match: re.Match) -> str:
            if check and not check(re.sub(r"\D", "", match.group()) if kind == "card" else match.group()):
                return match.group()
            found.append((match.start(), kind))
            return TAGS[kind]
        return sub

    text = _EMAIL.sub(replacer("email"), text)
    text = _ID_NUMBER.sub(replacer("id_number", id_number_ok), text)
    text = _CARD.sub(replacer("card", lambda d: 13 <= len(d) <= 19 and luhn_ok(d)), text)
    text = _PHONE.sub(replacer("phone"), text)
    return Masked(text, tuple(kind for _, kind in sorted(found)))


def mask_and_cut(raw: str | None, limit: int) -> tuple[Masked, bool]:
    """Clean, mask, then cut to `limit` characters: personal data is masked whole before any cut.

    Only the first `limit` + a margin is masked (the rest is cut anyway), so a huge text costs no more
    than a long one; a number crossing the limit lies inside the margin. Returns (masked, whether cut).
    """
    text = clean_text(raw)
    masked = mask(text[:limit + CUT_MARGIN])
    kept, was_cut = cut(masked.text, limit)
    return Masked(kept, masked.found), was_cut or len(text) > limit + CUT_MARGIN
