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
# Also grouped as written on forms: 530102 19990923 2261.
_ID_NUMBER = re.compile(r"(?<![0-9])[1-9]\d{5} ?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]) ?\d{3}[\dXx]"
                        r"(?![0-9])")
# Not inside a longer run of grouped digits (tracking 9400 6880 1234 5678 00, invoice 3955 1234 5678).
_NOT_AFTER_DIGITS = r"(?<![0-9+])(?<![0-9][ \-.])"
_NOT_BEFORE_DIGITS = r"(?![ \-.]?[0-9])"
_PHONE = re.compile(
    # International numbers and Chinese mobiles are masked even glued to words ("tel13800138000",
    # "call+8613800138000"): their shape is specific, and an unmasked phone costs more than a masked look-alike.
    # The looser shapes (landlines, service and North American numbers) must not follow a letter or a slash,
    # where tracking numbers and URLs put their digits (JDX0123456789, /item/4155550126).
    r"(?<![0-9+])\+\d{1,3}[ \-]?(?:\(?\d{1,4}\)?[ \-]?){2,4}\d{2,4}(?![0-9])"   # international: +86 138 0013 8000
    rf"|{_NOT_AFTER_DIGITS}(?<!-)(?:(?:0086|86)[ \-]?)?1[3-9]\d[ \-.]?\d{{4}}[ \-.]?\d{{4}}{_NOT_BEFORE_DIGITS}"
    #                                                               Chinese mobile: 138.0013.8000
    rf"|{_NOT_AFTER_DIGITS}(?<![A-Za-z_/=#])(?:"
    r"\(?0\d{1,4}\)?[ \-]?\d{3,4}[ \-]?\d{3,4}"                  # landlines: (010)37817970, 0755 2944 9317,
                                                                  # 08713540323, 020 7946 0243, 07700 900347
    r"|\(\d{2,4}\)[ \-]?\d{3,4}[ \-]?\d{4}"                        # a code in brackets: (852) 9041 5453
    r"|[48]00\d?[ \-]?\d{3,4}[ \-]?\d{3,4}"                        # service numbers: 400-820-6688, 8008109389
    r"|(?:1[ \-.])?\(?[2-9]\d{2}\)?[ \-.]?[2-9]\d{2}[ \-.]?\d{4}"    # North American: (415) 555-0100, 1-888-555-0115
    rf"){_NOT_BEFORE_DIGITS}"
)
# Written in Chinese numerals (幺三八 九二六幺 七四七四): read as digits, then checked as a mobile number.
_ZH_DIGITS = {ord(c): str(d) for d, c in enumerate("〇一二三四五六七八九")} | {ord("幺"): "1", ord("零"): "0"}
_ZH_NUMBER = re.compile(r"[幺〇零一二三四五六七八九](?:[ \-]?[幺〇零一二三四五六七八九]){10,}")
# E-mail addresses written to dodge scrapers: "jo at example dot com", "jo[at]example[dot]cn", "jo艾特example点cn",
# "jo#example.cn", "jo @ example . com". A known top-level domain at the end keeps prose out.
_AT = r"\s*(?:@|\[at\]|\(at\)|\{at\}|艾特|#)\s*|\s+at\s+"
_DOT = r"\s*(?:\.|\[dot\]|\(dot\)|点)\s*|\s+dot\s+"
_OBFUSCATED_EMAIL = re.compile(
    rf"[A-Za-z0-9._%+\-]+(?:{_AT})[A-Za-z0-9\-]+(?:(?:{_DOT})[A-Za-z0-9\-]+)*?(?:{_DOT})"
    r"(?:com|net|org|cn|io|edu|gov|co|uk|de|jp|fr|info|biz|me|example)(?![A-Za-z0-9])", re.IGNORECASE)
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
            if check and not check(re.sub(r"[\s\-]", "", match.group())):
                return match.group()
            found.append((match.start(), kind))
            return TAGS[kind]
        return sub

    text = _EMAIL.sub(replacer("email"), text)
    text = _OBFUSCATED_EMAIL.sub(replacer("email"), text)
    text = _ID_NUMBER.sub(replacer("id_number", id_number_ok), text)
    text = _CARD.sub(replacer("card", lambda d: 13 <= len(d) <= 19 and luhn_ok(d)), text)
    text = _PHONE.sub(replacer("phone"), text)
    text = _ZH_NUMBER.sub(replacer("phone", lambda n: bool(re.fullmatch(r"1[3-9]\d{9}", n.translate(_ZH_DIGITS)))),
                          text)
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
