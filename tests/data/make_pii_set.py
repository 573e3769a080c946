"""Write tests/data/pii_set.jsonl: a labelled evaluation set for the personal-data masker (assistant/pii.py).

    python tests/data/make_pii_set.py           # (re)write the set next to this script
    python tests/data/make_pii_set.py --check   # only verify that the file on disk is what this script writes

Deterministic (one seeded `random.Random`), standard library only, and independent of assistant/pii.py: the
checksums are computed here, and the texts are written as customers write, not to fit the masker's patterns,
so the set measures it honestly, cases it misses included.

Each line: {"id": "pii-0001", "lang": "en"|"zh"|"mixed", "text": "...", "pii": [{"kind": ..., "value": ...}]}
with kinds `email`, `phone`, `card`, `id_number`, listed in order of appearance; every value occurs exactly
once in its text, so recall and precision can be computed by character spans. A text with "pii": [] is a hard
negative: it carries number-like strings (order ids, prices, dates, tracking numbers, SKUs, model numbers,
16-digit references failing Luhn, 18-digit references failing the ID checksum, ...) and no personal data.

Labelling conventions (what a reviewer should expect a perfect masker to mask):
- A value is the item as written, separators included: "+86 139 1234 5678", "(415) 555-0142", "0086-...",
  "4532 7153 3790 1241", "110105 19900307 123X"; surrounding words and punctuation are not part of it
  ("Tel: ", a sentence's final full stop, the brackets of "<a@example.com>").
- Full-width characters stay full-width in the value (the text is not normalised): "１３９１２３４５６７８".
- phone: Chinese mobiles and landlines (area code included, an extension after 转 is not), 400/800 service
  numbers (the shop's own 400-820-6688 too), international numbers, and mobiles written in Chinese numerals
  (幺三九...) as users do to get past chat filters.
- email: ordinary addresses, the shop's own help@maplemarket.example, and obfuscated ones ("jo at example dot
  com", "jo[at]example[dot]com", "lina艾特example点cn", "lina#example.cn"): the whole obfuscated phrase.
- card: 13-19 digit payment card numbers with a valid Luhn checksum (Visa, Mastercard, UnionPay, Amex).
- id_number: 18-character Chinese resident ID numbers with a valid ISO 7064 check character (X included).
- Not personal data here: order ids, a card's or phone's last four digits, a phone already shown masked
  (139****2231), tracking/transaction/invoice numbers, company tax numbers, the shop's website.

Values are generated, never real people's: random digits with valid checksums, 555-01xx (North America),
the Ofcom and ACMA drama ranges, and example.* / maplemarket.example domains.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

SEED = 20261104
OUT = Path(__file__).with_name("pii_set.jsonl")
TARGETS = {  # (lang, has personal data) -> number of texts
    ("en", True): 118, ("zh", True): 118, ("mixed", True): 25,
    ("en", False): 58, ("zh", False): 58, ("mixed", False): 17,
}

# --------------------------------------------------------------------------------------------- checksums

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def luhn_sum(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10


def luhn_ok(digits: str) -> bool:
    return len(digits) > 1 and digits.isdigit() and luhn_sum(digits) == 0


def luhn_check_digit(body: str) -> str:
    return str((10 - luhn_sum(body + "0")) % 10)


def id_check_char(body17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS)) % 11]


def id_ok(number: str) -> bool:
    number = number.upper()
    return (len(number) == 18 and number[:17].isdigit() and number[17] in "0123456789X"
            and id_check_char(number[:17]) == number[17])


def ean13_ok(digits: str) -> bool:
    return len(digits) == 13 and sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits)) % 10 == 0


def fold(text: str) -> str:
    """Full-width ASCII (１２３ＡＢＣ＠．) to ASCII, for the checks only; the set keeps what was written."""
    return "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in text)


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7E else c for c in text)


# --------------------------------------------------------------------------------------------- values

DIGITS = "0123456789"
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                   "156", "157", "158", "159", "166", "173", "177", "180", "181", "182", "183", "185", "186",
                   "187", "188", "189", "191", "195", "198", "199"]
# (area code, digits of the local number)
AREAS = [("010", 8), ("021", 8), ("020", 8), ("022", 8), ("023", 8), ("025", 8), ("027", 8), ("028", 8),
         ("029", 8), ("0755", 8), ("0571", 8), ("0512", 8), ("0532", 8), ("0731", 8), ("0591", 8), ("0871", 7)]
US_AREAS = ["415", "212", "646", "312", "206", "617", "503", "213", "404", "305", "720", "604"]
ACMA_MOBILES = ["0491 570 006", "0491 570 156", "0491 570 157", "0491 570 158", "0491 570 159", "0491 570 110",
                "0491 570 313", "0491 570 737", "0491 571 266", "0491 571 491", "0491 571 804"]
ID_AREAS = ["110105", "110108", "310104", "310115", "440305", "440106", "330106", "320102", "510107",
            "420106", "370202", "500103", "610113", "120101", "210102", "350203", "430104", "530102"]
CN_NUMERALS = {"0": "零", "1": "一", "2": "二", "3": "三", "4": "四", "5": "五", "6": "六", "7": "七",
               "8": "八", "9": "九"}
EN_FIRST = ["jane", "tom", "alex", "maria", "sam", "olivia", "liam", "noah", "emma", "chris", "priya", "kenji",
            "lucas", "sofia", "david", "hannah", "omar", "zoe", "ben", "grace", "ivan", "leila", "mike", "nina"]
EN_LAST = ["doe", "smith", "nguyen", "patel", "brown", "garcia", "kim", "muller", "rossi", "okafor", "tanaka",
           "wilson", "chen", "lopez", "harris", "novak", "evans", "costa"]
PINYIN = [("zhang", "wei"), ("wang", "fang"), ("li", "na"), ("liu", "yang"), ("chen", "jing"), ("yang", "li"),
          ("zhao", "lei"), ("huang", "min"), ("zhou", "jie"), ("wu", "xia"), ("xu", "qiang"), ("sun", "li"),
          ("ma", "ying"), ("zhu", "hui"), ("hu", "lin"), ("guo", "qing"), ("he", "tao"), ("lin", "yue"),
          ("luo", "bin"), ("gao", "yan")]
SHOP_EMAILS = ["help@maplemarket.example", "help@maplemarket.example", "support@maplemarket.example",
               "service@maplemarket.example", "refunds@maplemarket.example", "kefu@maplemarket.example"]
MODELS = ["iPhone 15", "iPhone 15 Pro Max", "RTX 4090", "RTX 4070 Ti", "WH-1000XM5", "Galaxy S24 Ultra",
          "Redmi K70", "Xiaomi 14", "MacBook Air M3", "AirPods Pro 2", "Switch OLED", "Kindle Paperwhite 5",
          "Pixel 8a", "Dyson V15", "iPad Air 11", "Apple Watch S9", "Sony A7 IV", "ThinkPad X1 Carbon Gen 12",
          "AX3000 router", "Bose QC45", "Logitech MX Master 3S", "Samsung T7 2TB", "GoPro HERO12"]
MODELS_ZH = ["华为Mate 60 Pro", "小米14", "Redmi K70", "iPhone 15", "小米手环8", "AirPods Pro 2", "RTX 4090显卡",
             "索尼WH-1000XM5", "罗技MX Master 3S", "戴森V15", "Switch OLED", "荣耀Magic6", "iPad Air 11寸",
             "vivo X100", "OPPO Find X7", "大疆Mini 4 Pro", "华为FreeBuds Pro 3", "联想拯救者Y9000P"]
SKU_PARTS = (["TS", "HD", "JK", "DR", "JN", "CT", "PK", "SN", "EB", "PB"],
             ["BLK", "WHT", "NVY", "GRY", "RED", "BEG", "GRN"], ["XS", "S", "M", "L", "XL", "XXL", "32", "42"])


class Values:
    """Random values, each kind cycling through its written forms so every form appears several times."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.cycles: dict[tuple[str, str], list[str]] = {}

    def digits(self, n: int, first: str = DIGITS) -> str:
        return self.rng.choice(first) + "".join(self.rng.choice(DIGITS) for _ in range(n - 1))

    def form(self, key: str, lang: str, forms: list[str]) -> str:
        """The next written form for this kind of value in this language group."""
        bucket = self.cycles.setdefault((key, lang), [])
        if not bucket:
            bucket.extend(forms)
            self.rng.shuffle(bucket)
        return bucket.pop()

    # --- phones -----------------------------------------------------------------------------------

    def mobile(self, lang: str, fmt: str | None) -> str:
        d = self.rng.choice(MOBILE_PREFIXES) + self.digits(8)
        forms = ["plain", "plain", "space344", "dash344", "plus86", "plus86_space", "plus86_dash", "0086",
                 "0086_join", "paren86", "dots", "86_space"]
        if lang != "en":
            forms += ["plain", "plain", "fw", "fw", "fw_space", "fw_plus86"]
        fmt = fmt or self.form("mobile", lang, forms)
        g = f"{d[:3]} {d[3:7]} {d[7:]}"
        return {
            "plain": d, "space344": g, "dash344": g.replace(" ", "-"), "dots": g.replace(" ", "."),
            "plus86": "+86" + d, "plus86_space": "+86 " + g, "plus86_dash": "+86-" + g.replace(" ", "-"),
            "0086": "0086 " + d, "0086_join": "0086" + d, "paren86": "(+86) " + d, "86_space": "86 " + d,
            "fw": fullwidth(d), "fw_space": fullwidth(d[:3]) + " " + fullwidth(d[3:7]) + " " + fullwidth(d[7:]),
            "fw_plus86": "＋８６ " + fullwidth(d),
            "numerals": self.numerals(d, spaced=False), "numerals_spaced": self.numerals(d, spaced=True),
        }[fmt]

    def numerals(self, d: str, spaced: bool) -> str:
        one = self.rng.choice("一幺")
        text = "".join(one if c == "1" else CN_NUMERALS[c] for c in d)
        return f"{text[:3]} {text[3:7]} {text[7:]}" if spaced else text

    def land(self, lang: str, fmt: str | None) -> str:
        area, n = self.rng.choice(AREAS)
        local = self.digits(n, "2345678")
        forms = ["dash", "dash", "dash", "space", "paren", "join", "plus86", "plus86_dash"]
        if n == 8 and len(area) == 4:
            forms += ["g444", "dash_g44"]
        if lang != "en":
            forms += ["fw", "paren_cn"]
        fmt = fmt or self.form("land", lang, forms)
        if fmt in ("g444", "dash_g44", "sz") and (n != 8 or len(area) != 4):
            area, local = "0755", self.digits(8, "2345678")
        if fmt == "bj":
            area, local, fmt = "010", self.digits(8, "2345678"), self.rng.choice(["dash", "space", "paren"])
        if fmt == "sz":
            area, fmt = "0755", self.rng.choice(["g444", "dash", "dash_g44"])
        half = f"{local[:4]} {local[4:]}" if len(local) == 8 else f"{local[:3]} {local[3:]}"
        return {
            "dash": f"{area}-{local}", "space": f"{area} {local}", "paren": f"({area}){local}",
            "paren_cn": f"（{area}）{local}", "join": area + local, "plus86": f"+86 {area[1:]} {half}",
            "plus86_dash": f"+86-{area[1:]}-{local}", "g444": f"{area} {half}",
            "dash_g44": f"{area}-{half.replace(' ', '-')}", "fw": fullwidth(f"{area}-{local}"),
        }[fmt]

    def hotline(self, lang: str, fmt: str | None) -> str:
        if fmt is None and self.rng.random() < 0.15:
            return "400-820-6688"  # the shop's own service number (knowledge/shop.yaml)
        lead = self.rng.choice(["400", "400", "800"])
        rest = (self.digits(7, "16789") if lead == "400" else "8" + self.digits(6, "123"))
        forms = ["dash", "dash", "space", "join"] + (["dash_4_3_3"] if lead == "400" else [])
        if lang != "en":
            forms += ["fw"]
        fmt = fmt or self.form("hotline", lang, forms)
        if fmt == "dash_4_3_3" and lead != "400":
            fmt = "dash"
        d = lead + rest
        return {
            "dash": f"{d[:3]}-{d[3:6]}-{d[6:]}", "space": f"{d[:3]} {d[3:6]} {d[6:]}", "join": d,
            "dash_4_3_3": f"{d[:4]}-{d[4:7]}-{d[7:]}", "fw": fullwidth(f"{d[:3]}-{d[3:6]}-{d[6:]}"),
        }[fmt]

    def us(self, lang: str, fmt: str | None) -> str:
        area = self.rng.choice(US_AREAS)
        line = f"01{self.rng.randint(0, 99):02d}"
        forms = ["plus1_space", "paren", "dash", "dots", "plus1_dash", "plus1_paren", "space", "join",
                 "one_dash"]
        fmt = fmt or self.form("us", lang, forms)
        return {
            "plus1_space": f"+1 {area} 555 {line}", "paren": f"({area}) 555-{line}", "dash": f"{area}-555-{line}",
            "dots": f"{area}.555.{line}", "plus1_dash": f"+1-{area}-555-{line}",
            "plus1_paren": f"+1 ({area}) 555-{line}", "space": f"{area} 555 {line}", "join": f"{area}555{line}",
            "one_dash": f"1-{self.rng.choice(['800', '888'])}-555-{line}",
        }[fmt]

    def uk(self, lang: str, fmt: str | None) -> str:
        land, mob = f"0{self.rng.randint(0, 999):03d}", f"{self.rng.randint(0, 999):03d}"
        forms = ["intl_land", "intl_land", "dom_land", "intl_mob", "dom_mob", "intl_zero", "intl_mob_join"]
        fmt = fmt or self.form("uk", lang, forms)
        return {
            "intl_land": f"+44 20 7946 {land}", "dom_land": f"020 7946 {land}", "intl_mob": f"+44 7700 900{mob}",
            "dom_mob": f"07700 900{mob}", "intl_zero": f"+44 (0)20 7946 {land}", "intl_mob_join": f"+447700900{mob}",
        }[fmt]

    def intl(self, lang: str, fmt: str | None) -> str:
        forms = ["au", "de", "fr", "hk", "hk", "sg", "jp", "ca", "us", "uk", "tw"]
        fmt = fmt or self.form("intl", lang, forms)
        if fmt == "au":
            return "+61 " + self.rng.choice(ACMA_MOBILES)[1:]
        if fmt == "de":
            return f"+49 30 23125 {self.rng.randint(0, 999):03d}"
        if fmt == "fr":
            return f"+33 1 99 00 {self.rng.randint(10, 99)} {self.rng.randint(10, 99)}"
        if fmt == "hk":
            d = self.digits(8, "569")
            return self.rng.choice([f"+852 {d[:4]} {d[4:]}", f"+852-{d}", f"(852) {d[:4]} {d[4:]}"])
        if fmt == "sg":
            d = self.digits(8, "89")
            return f"+65 {d[:4]} {d[4:]}"
        if fmt == "jp":
            d = self.digits(8)
            return f"+81 90-{d[:4]}-{d[4:]}"
        if fmt == "tw":
            d = self.digits(8)
            return f"+886 9{d[:2]} {d[2:5]} {d[5:]}"
        if fmt == "ca":
            return f"+1 604 555 01{self.rng.randint(0, 99):02d}"
        if fmt == "us":
            return self.us(lang, "plus1_space")
        return self.uk(lang, "intl_land")

    # --- e-mail -----------------------------------------------------------------------------------

    def email(self, lang: str, fmt: str | None) -> str:
        if lang == "en" or (lang == "mixed" and self.rng.random() < 0.5):
            f, l = self.rng.choice(EN_FIRST), self.rng.choice(EN_LAST)
            nn = self.rng.randint(1, 99)
            forms = ["dot", "num", "plus", "initial_sub", "under_net", "dash_couk", "upper", "sub2", "year",
                     "cap", "dot"]
            fmt = fmt or self.form("email_en", lang, forms)
            return {
                "dot": f"{f}.{l}@example.com", "num": f"{f}{l}{nn}@example.org",
                "plus": f"{f}+{self.rng.choice(['shop', 'orders', 'maple', 'returns'])}@example.com",
                "initial_sub": f"{f[0]}.{l}@mail.example.com", "under_net": f"{f}_{l}@eu.example.net",
                "dash_couk": f"{f}-{l}@example.co.uk", "upper": f"{f}.{l}@example.com".upper(),
                "sub2": f"{l}.{f}@sub.mail.example.org", "year": f"{f}.{l}.{self.rng.randint(1970, 2005)}@example.com",
                "cap": f"{f.capitalize()}.{l.capitalize()}@Example.com",
                "fw": fullwidth(f"{f}.{l}@example.com"),
            }[fmt]
        s, g = self.rng.choice(PINYIN)
        forms = ["num", "dot_comcn", "qq", "under_mail", "year", "plus", "dot", "fw"]
        fmt = fmt or self.form("email_zh", lang, forms)
        return {
            "num": f"{s}{g}{self.rng.randint(1, 999)}@example.cn", "dot_comcn": f"{g}.{s}@example.com.cn",
            "qq": f"{self.digits(self.rng.choice([9, 10]), '123456789')}@example.cn",
            "under_mail": f"{s}_{g}@mail.example.cn", "year": f"{s}{g}{self.rng.randint(1970, 2005)}@example.com",
            "plus": f"{g}.{s}+shop@example.cn", "dot": f"{s}.{g}@example.com",
            "fw": fullwidth(f"{s}{g}{self.rng.randint(1, 99)}@example.cn"),
        }[fmt]

    def email_obf(self, lang: str, fmt: str | None) -> str:
        if lang == "en":
            u = f"{self.rng.choice(EN_FIRST)}.{self.rng.choice(EN_LAST)}"
            forms = ["words", "brackets", "parens", "caps", "spaced", "at_only", "brackets_sub"]
        else:
            s, g = self.rng.choice(PINYIN)
            u = f"{s}{g}{self.rng.randint(1, 99)}"
            forms = ["zh", "zh", "words", "brackets", "at_only"]  # "hash" only where the text explains it
        fmt = fmt or self.form("email_obf", lang, forms)
        return {
            "words": f"{u} at example dot com", "brackets": f"{u} [at] example [dot] com",
            "parens": f"{u}(at)example(dot)org", "caps": f"{u} AT example DOT net", "spaced": f"{u} @ example . com",
            "at_only": f"{u} at example.com", "brackets_sub": f"{u}[at]mail.example[dot]com",
            "zh": f"{u}艾特example点cn", "hash": f"{u}#example.cn",
        }[fmt]

    def shop_email(self, lang: str, fmt: str | None) -> str:
        return self.rng.choice(SHOP_EMAILS)

    # --- cards and ID numbers ---------------------------------------------------------------------

    CARD_TYPES = ["visa", "visa", "visa", "mc", "mc", "mc2", "up16", "up16", "up19", "amex"]
    CARD_FORMS = ["g4", "g4", "g4", "plain", "plain", "g4dash"]

    def card(self, lang: str, fmt: str | None) -> str:
        ctype = fmt if fmt in self.CARD_TYPES else self.form("card_type", "all", self.CARD_TYPES)
        forms = self.CARD_FORMS + (["fw", "fw_g4"] if lang != "en" else [])
        form = fmt if fmt in forms or fmt in ("fw", "fw_g4") else self.form("card_form", lang, forms)
        prefix, length = {
            "visa": ("4", 16), "mc": (self.rng.choice(["51", "52", "53", "54", "55"]), 16),
            "mc2": (str(self.rng.randint(2221, 2720)), 16),
            "up16": (self.rng.choice(["6222", "6217", "6228", "6212", "6214", "6226"]), 16),
            "up19": (self.rng.choice(["6217", "6222", "6228", "6215"]), 19),
            "amex": (self.rng.choice(["34", "37"]), 15),
        }[ctype]
        body = prefix + "".join(self.rng.choice(DIGITS) for _ in range(length - len(prefix) - 1))
        d = body + luhn_check_digit(body)
        if length == 15:
            grouped = f"{d[:4]} {d[4:10]} {d[10:]}"
        else:
            grouped = " ".join(d[i:i + 4] for i in range(0, length, 4))
        return {"g4": grouped, "plain": d, "g4dash": grouped.replace(" ", "-"), "fw": fullwidth(d),
                "fw_g4": " ".join(fullwidth(p) for p in grouped.split(" "))}[form]

    def id(self, lang: str, fmt: str | None) -> str:
        forms = ["plain", "plain", "plain", "x_end", "x_lower", "spaced684"] + (["fw"] if lang != "en" else [])
        fmt = fmt or self.form("id", lang, forms)
        while True:
            year = self.rng.randint(1958, 2006)
            month = self.rng.randint(1, 12)
            day = self.rng.randint(1, 28 if month == 2 else 30)
            body = f"{self.rng.choice(ID_AREAS)}{year}{month:02d}{day:02d}{self.rng.randint(0, 999):03d}"
            check = id_check_char(body)
            if (check == "X") == (fmt in ("x_end", "x_lower")):
                break
        number = body + check
        return {"plain": number, "x_end": number, "x_lower": number.lower(), "fw": fullwidth(number),
                "spaced684": f"{number[:6]} {number[6:14]} {number[14:]}"}[fmt]

    # --- no personal data -------------------------------------------------------------------------

    def order(self, lang: str, fmt: str | None) -> str:
        o = f"MM{self.rng.choice(['2026', '2026', '2025'])}{self.rng.randint(0, 9999):04d}"
        forms = ["plain"] * 8 + ["lower", "hash"] + (["fw"] if lang == "zh" else [])
        fmt = fmt or self.form("order", lang, forms)
        return {"plain": o, "lower": o.lower(), "hash": "#" + o, "fw": fullwidth(o)}[fmt]

    def price(self, lang: str, fmt: str | None) -> str:
        r = self.rng
        if fmt == "usd":
            return f"${r.randint(20, 899)}" + r.choice(["", ".99", ".00", ".50"])
        if lang == "en":
            return r.choice([f"${r.randint(5, 99)}.{r.choice(['50', '99', '00', '49'])}",
                             f"${r.randint(1, 3)},{r.randint(100, 999)}",
                             f"USD {r.randint(20, 400)}.99", f"£{r.randint(10, 300)}.99", f"€{r.randint(20, 900)}",
                             f"¥{r.randint(99, 9999)}", f"${r.randint(100, 999)}"])
        return r.choice([f"¥{r.randint(49, 9999)}", f"￥{r.randint(9, 999)}.9", f"{r.randint(59, 8999)}元",
                         f"{r.randint(1, 9)},{r.randint(100, 999)}块", f"RMB {r.randint(1, 9)},{r.randint(100, 999)}",
                         f"¥{r.randint(1, 9)},{r.randint(100, 999)}.00", f"{r.randint(99, 999)}块钱",
                         fullwidth(f"{r.randint(99, 2999)}") + "元"])

    def date(self, lang: str, fmt: str | None) -> str:
        r = self.rng
        m, d = r.randint(1, 12), r.randint(1, 28)
        mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][m - 1]
        if lang == "en":
            return r.choice([f"2026-{m:02d}-{d:02d}", f"{m}/{d}", f"{mon} {d}", f"{d:02d}/{m:02d}/2026",
                             f"{m}/{d}/2026", f"{mon} {d}th" if 4 <= d <= 20 else f"{mon} {d}", f"2026.{m:02d}.{d:02d}"])
        return r.choice([f"2026-{m:02d}-{d:02d}", f"{m}月{d}日", f"2026年{m}月{d}日", f"{m}.{d}", f"2026/{m}/{d}",
                         f"{d}号", fullwidth(f"{m}") + "月" + fullwidth(f"{d}") + "日"])

    def time(self, lang: str, fmt: str | None) -> str:
        r = self.rng
        h, mi = r.randint(8, 21), r.choice([0, 15, 30, 45, 5])
        if lang == "en":
            return r.choice([f"{h}:{mi:02d}", f"{h % 12 or 12}:{mi:02d}{'pm' if h >= 12 else 'am'}",
                             f"{h % 12 or 12}{'pm' if h >= 12 else 'am'}", f"{h:02d}:{mi:02d}"])
        return r.choice([f"{h}:{mi:02d}", f"{'下午' if h >= 12 else '上午'}{h % 12 or 12}点", f"晚上{r.randint(7, 10)}点半",
                         f"{h:02d}:{mi:02d}"])

    def numeric_failing_luhn(self, n: int, first: str = "123456789") -> str:
        body = self.digits(n - 1, first)
        good = luhn_check_digit(body)
        return body + self.rng.choice([c for c in DIGITS if c != good])

    def track(self, lang: str, fmt: str | None) -> str:
        r = self.rng
        forms = ["sf", "sf", "yt", "jt", "jd", "zto", "yunda", "ems", "ups", "usps"]
        fmt = fmt or self.form("track", lang, forms)
        # the digits of every tracking number fail Luhn, so none could be taken for a card number
        if fmt == "sf":
            return "SF" + self.numeric_failing_luhn(13, "1")
        if fmt == "yt":
            return "YT" + self.numeric_failing_luhn(13, "1234567")
        if fmt == "jt":
            return "JT" + self.numeric_failing_luhn(13, "3")
        if fmt == "jd":
            return "JDX" + self.numeric_failing_luhn(12, "0")
        if fmt == "zto":
            return self.numeric_failing_luhn(14, "7")
        if fmt == "yunda":
            return self.numeric_failing_luhn(13, "4")
        if fmt == "ems":
            return f"E{r.choice('ABCEFLMR')}{self.digits(9)}CN"
        if fmt == "ups":
            return "1Z" + "".join(r.choice("0123456789ABCDEFGHJKLMNPRTUVWXY") for _ in range(6)) + self.digits(10)
        d = "9400" + self.digits(18)
        return " ".join(d[i:i + 4] for i in range(0, 22, 4))

    def bad16(self, lang: str, fmt: str | None) -> str:
        """A 16-digit reference that fails the Luhn check: not a card number."""
        d = self.numeric_failing_luhn(16, self.rng.choice(["2", "2", "4", "5", "6", "3"]))
        forms = ["g4", "plain", "plain", "g4dash"] + (["fw"] if lang == "zh" else [])
        fmt = fmt or self.form("bad16", lang, forms)
        grouped = " ".join(d[i:i + 4] for i in range(0, 16, 4))
        return {"g4": grouped, "plain": d, "g4dash": grouped.replace(" ", "-"), "fw": fullwidth(d)}[fmt]

    def bad18(self, lang: str, fmt: str | None) -> str:
        """An 18-digit reference failing the ID check character (and Luhn); half of them are shaped like an ID."""
        while True:
            if self.rng.random() < 0.5:
                body = f"{self.rng.choice(ID_AREAS)}{self.rng.randint(1960, 2005)}{self.rng.randint(1, 12):02d}" \
                       f"{self.rng.randint(1, 28):02d}{self.rng.randint(0, 999):03d}"
                d = body + self.rng.choice([c for c in DIGITS if c != id_check_char(body)])
            else:
                d = "2026" + self.digits(14)
            if not id_ok(d) and not luhn_ok(d):
                return d

    def ean(self, lang: str, fmt: str | None) -> str:
        """An EAN-13 barcode (its own check digit) that fails Luhn."""
        while True:
            body = "69" + self.digits(10)
            for c in DIGITS:
                if ean13_ok(body + c) and not luhn_ok(body + c):
                    return body + c

    def sku(self, lang: str, fmt: str | None) -> str:
        a, b, c = (self.rng.choice(p) for p in SKU_PARTS)
        return self.rng.choice([f"MM-{a}-{self.rng.randint(1000, 9999)}-{b}-{c}",
                                f"{a}{self.rng.randint(2023, 2026)}-{self.rng.randint(1, 999):03d}",
                                f"{a}{self.rng.randint(100000, 999999)}", f"{a}-{b}-{c}-{self.rng.randint(1, 40):02d}"])

    def model(self, lang: str, fmt: str | None) -> str:
        return self.rng.choice(MODELS if lang == "en" else MODELS_ZH)

    def postcode(self, lang: str, fmt: str | None) -> str:
        if lang == "en":
            return self.rng.choice(["94105", "10001", "60614", "98101", "EC1A 1BB", "M1 1AE", "100080", "518057"])
        return self.rng.choice(["100080", "518057", "200120", "310012", "610041", "430074", "710049", "215000"])

    def version(self, lang: str, fmt: str | None) -> str:
        r = self.rng
        return r.choice([f"v{r.randint(1, 5)}.{r.randint(0, 12)}.{r.randint(0, 30)}",
                         f"{r.randint(1, 3)}.{r.randint(0, 9)}.{r.randint(10, 99)}", f"V{r.randint(1, 9)}.{r.randint(0, 9)}",
                         f"{r.randint(4, 6)}.{r.randint(0, 20)}.0 ({r.randint(2025, 2026)}{r.randint(1000, 1231)})"])

    def pct(self, lang: str, fmt: str | None) -> str:
        r = self.rng
        return f"{r.choice([5, 10, 12, 15, 20, 25, 30, 35, 50])}%"

    def url(self, lang: str, fmt: str | None) -> str:
        r = self.rng
        return r.choice([f"https://maplemarket.example/orders/{r.randint(100, 99999)}",
                         f"https://maplemarket.example/p/{r.randint(10000, 999999)}?color=black&size=L",
                         "maplemarket.example/returns",
                         f"https://maplemarket.example/track?no=SF{self.numeric_failing_luhn(13, '1')}",
                         f"http://m.maplemarket.example/item/{r.randint(1000000000, 2999999999)}",
                         f"https://maplemarket.example/orders/{r.randint(100, 999)}#review"])

    def qty(self, lang: str, fmt: str | None) -> str:
        r = self.rng
        if lang == "en":
            return r.choice([f"{r.randint(2, 12)} pcs", f"x{r.randint(2, 6)}", f"{r.randint(2, 5)} pairs",
                             f"{r.randint(10, 60)} units"])
        return r.choice([f"{r.randint(2, 9)}件", f"{r.randint(2, 5)}双", f"x{r.randint(2, 6)}", f"一共{r.randint(3, 9)}件"])

    def days(self, lang: str, fmt: str | None) -> str:
        return str(self.rng.randint(2, 15))

    def tail4(self, lang: str, fmt: str | None) -> str:
        return self.digits(4)

    def masked_mobile(self, lang: str, fmt: str | None) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + "****" + self.digits(4)

    def ticket(self, lang: str, fmt: str | None) -> str:
        return self.digits(11, "23456789")

    def serial(self, lang: str, fmt: str | None) -> str:
        return "".join(self.rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(self.rng.choice([10, 12])))

    def ip(self, lang: str, fmt: str | None) -> str:
        return self.rng.choice(["192.168.31.1", "192.168.1.1", "192.168.0.1", "10.0.0.138"])

    def exp(self, lang: str, fmt: str | None) -> str:
        return f"{self.rng.randint(1, 12):02d}/{self.rng.randint(27, 31)}"

    def ext(self, lang: str, fmt: str | None) -> str:
        return str(self.rng.randint(800, 8999))

    def giftcode(self, lang: str, fmt: str | None) -> str:
        return "-".join("".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(4)) for _ in range(4))

    def taxid(self, lang: str, fmt: str | None) -> str:
        tail = "".join(self.rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
        return f"91{self.rng.choice(ID_AREAS)}MA{tail}"

    def invoice20(self, lang: str, fmt: str | None) -> str:
        return "26" + self.rng.choice(["11", "31", "44", "33"]) + self.digits(16)

    def alipay28(self, lang: str, fmt: str | None) -> str:
        return f"2026{self.rng.randint(1, 12):02d}{self.rng.randint(1, 28):02d}22001" + self.digits(15)


KIND = {"mobile": "phone", "land": "phone", "hotline": "phone", "us": "phone", "uk": "phone", "intl": "phone",
        "email": "email", "email_obf": "email", "shop_email": "email", "card": "card", "id": "id_number"}

# --------------------------------------------------------------------------------------------- texts
# Slots: {name} or {name:form}; the kinds in KIND are personal data, the rest are number-like distractors.

EN_POS = [
    "Where is my order {order}? You can reach me on {us} anytime after {time}.",
    "pls call me back at {us} , been waiting since {date}",
    "I need to change the email on my account to {email}. The old one doesn't work anymore.",
    "Can you resend the receipt for {order} to {email}? Didn't get it.",
    "The courier keeps calling the wrong number. My correct number is {mobile}.",
    "Delivery guy can reach me at {mobile}, I'm at work till {time}.",
    "I was charged twice on card {card} for order {order}. I want ONE of them refunded immediately!!",
    "Payment failed but my bank shows {price} taken from card {card}. What is going on?",
    "My wife ordered on my account, you can contact her at {email} or {uk}.",
    "UK customer here, tel {uk}. The {model} arrived with a cracked case.",
    "Please send the invoice to {email} and copy {email}, our finance team needs both.",
    "my emial is {email_obf} (dont want bots to scrape it)",
    "Reply to {email_obf} please, I don't log into the app much.",
    "THIRD TIME I'M ASKING!!! Call me on {us} or I'm disputing the charge on {card}.",
    "Customs want my Chinese ID number for the parcel: {id}. Is it safe to send it here?",
    "Recipient is my mother in Chengdu, ID {id}, mobile {mobile}. She'll sign for it.",
    "Office line {land}, ask for the purchasing dept. We'd like 20 units of the {model}.",
    "I called {hotline} three times and waited 40 minutes each time. Useless.",
    "Is {hotline} your official number? Someone called me from it asking for my card details.",
    "I'm travelling, so text {intl} instead of calling. Order {order}.",
    "Phone: {us}\nEmail: {email}\nOrder: {order}\nIssue: wrong size, need L instead of M.",
    "Jacket is great but the zip broke after a week. Contact me at {email} for the exchange, order {order}.",
    "Just checking the status of {order}. The number on file is old, please use {intl}.",
    "You have my number wrong in the system, it should be {us}, not {us}.",
    "Card number {card}, expiry {exp}, and the charge was {price}. Why was it declined?",
    "I used my UnionPay card {card:up19} but the order still shows unpaid.",
    "Refund should go back to {card}, not store credit please.",
    "Could someone from the warehouse call {land}? It's the front desk of our office, they'll hand it to me.",
    "email me: {email}",
    "{email} <- that's my new address, update it pls",
    "Contact {shop_email} they said, so I did, on {date}. No reply yet.",
    "Your own page says write to {shop_email} but the mail bounced.",
    "I sent photos of the damaged box to {shop_email} from {email}. Any update?",
    "Long story short: ordered the {model} on {date}, paid {price} with card {card}, tracking {track} hasn't moved "
    "in a week, and nobody answers at {hotline}. Call me on {us} before I go to my bank.",
    "Could you update the delivery phone to {mobile} and the email to {email}? Both changed last month.",
    "Bought the wool coat, size M. It's lovely. If the seller reads this: my number is {uk}, I'd like the same "
    "one in navy.",
    "Review: the charger gets hot. I emailed from my other account {email_obf} but no reply. 2 stars.",
    "why does checkout ask for ID number?? I entered {id} and it says invalid format",
    "Hi team, our company moved. Billing contact is now {email}, phone {land}.",
    "hi i ordered a hoodie for my son, his mobile is {mobile} pls call him when ur near",
    "Number: {intl}\nAvailable: weekdays after {time}",
    "I'm in Hong Kong, my number is {intl:hk}. Does express shipping to HK take {days} days?",
    "Use this card instead: {card}. The old one expired.",
    "Card: {card}\nAmount: {price}\nOrder: {order}",
    "You sent the tracking update to {email} but that's not mine! Mine is {email}.",
    "Please do NOT call {us}, that's my work number. Use {us}.",
    "Can I pay by bank transfer? My card {card} keeps getting rejected by 3D Secure.",
    "Seller contact? I found {hotline} on the box but it doesn't work.",
    "I got a text from {intl} saying my parcel is held at customs. Is that you or a scam?",
    "Order {order}: size too small. Call {us} or mail {email}, whatever's faster.",
    "Following up on my ticket. Reach me on {mobile} (China mobile) or {email}.",
    "My mom doesn't use email, just call her landline: {land}.",
    "Good product. Fast delievery. Courier called from {mobile} before arriving, very nice.",
    "The headphones ({model}) stopped charging after {days} days. I'd like a replacement. My details: "
    "{email}, {us}.",
    "Can't log in. Account email is {email}, phone {mobile}. The reset link never arrives.",
    "I think my account was hacked, someone changed the email to {email}. My real one is {email}.",
    "Invoice to Acme Trading Ltd, contact {email}, tel {land}.",
    "for the return label send it to {email_obf} thanks",
    "I've given my numbr three times already: {us}!! Is anyone even reading these?",
    "Paid with {card} on {date} at {time}. Order never showed up in my account.",
    "I'm the gift recipient. The sender gave you my old number by mistake, it's {uk} now.",
    "Please note new billing card {card} for the subscription, and remove the old one ending {tail4}.",
    "I'd like to order 50 T-shirts for our team. Contact: {email} / {intl}.",
    "Got a scam call from {us} pretending to be Maple Market. Be careful everyone.",
    "emails to {shop_email} bounce, try it yourself. also my number is {us}",
    "Hey, can the rider call {mobile} when he's downstairs? Doorbell is broken.",
    "Reach me at {email}.\n\nThanks,\na very annoyed customer",
    "ID for the customs declaration: {id} (it's my father's, he is the receiver).",
    "My Chinese ID ends with X and your form rejects it: {id:x_end}",
    "Mastercard {card:mc} was declined, Visa {card:visa} too. Something's wrong with your payment page.",
    "Number changed → {us}",
    "please cancel order {order}, wrong adress. contact {email} if you need anything",
    "Long message, sorry. I ordered two pairs of jeans ({sku}, size 32) and a winter parka on {date}. The parka "
    "arrived, the jeans didn't. The tracking number you gave me ({track}) apparently belongs to someone else's "
    "parcel. I've called {hotline} twice and was told to write here, so here I am. My phone is {us} and my email "
    "is {email}. Please sort this out, it's a birthday present and the party is on {date}.",
    "Company purchase: 10x {model}. Our accounts contact is {email}, phone {land}, fax {land}.",
    "What's your WhatsApp? Mine is {intl}.",
    "i am a student in London, phone {uk}, can u ship to uni halls?",
    "Recieved the wrong colour. Pics sent from {email}. Order {order}, {qty}.",
    "Never again. Charged {price} to {card} and the dress is see-through.",
    "can u call me {us} ty",
    "Contact details for the warranty claim: {email}; {intl}; order {order}.",
    "Amex {card:amex} is the card I used, the receipt says something else.",
    "Reach me on WeChat, the ID is my phone {mobile}.",
    "Please write to {email} (work) rather than {email}, I don't check the personal one.",
    "I'd like to return the sneakers. I'm at {land:plus86} during the day, {mobile} evenings.",
    "For the cross-border order the form wants my resident ID: {id}. The name matches the account.",
    "ID card no. {id}, please verify my account, I uploaded the photo twice already.",
    "Real-name check failed with {id} and phone {mobile}. What now?",
    "Apple Pay failed so I typed the card in manually: {card:plain}, and it still failed.",
]

ZH_POS = [
    "我的订单{order}怎么还没发货？电话{mobile}，有事打我。",
    "手机{mobile:plain}，快递到了请打这个号码",
    "麻烦把发票发到{email}，谢谢",
    "邮箱是{email}，之前那个不用了",
    "手机号换了，新号码{mobile}，旧的停机了",
    "我用银行卡{card}付的款，为什么显示支付失败？钱已经扣了{price}！",
    "同一笔订单扣了两次钱！卡号{card}，赶紧退！！",
    "海关要身份证号，我的是{id}，这样发安全吗？",
    "收件人身份证{id}，电话{mobile}，清关用的",
    "公司座机{land}，找采购部就行",
    "打你们客服{hotline}打了半小时都没人接",
    "有人用{hotline}给我打电话说要退款给我，让我提供银行卡号，是你们吗？",
    "邮箱{email_obf}，怕被爬虫抓才这么写的",
    "我的邮箱：{email_obf:hash}（#换成@）",
    "衣服质量很好，就是尺码偏小。卖家打电话{mobile}来确认过尺码，服务不错",
    "耳机用了{days}天就坏了，退货！联系我{mobile}或者{email}",
    "快递员电话是多少？我的是{mobile}，他可以直接打给我",
    "座机：{land}\n手机：{mobile}\n邮箱：{email}\n订单：{order}",
    "我在深圳，办公室电话{land:sz}，白天都在",
    "客服邮箱{shop_email}发了三封邮件都没回",
    "我在你们官网看到的邮箱{shop_email}，照片已经发过去了，我的邮箱是{email}",
    "第三次问了！！！订单{order}到底什么时候到？？再不回我打{hotline}投诉了，我手机{mobile}",
    "麻烦让快递打{mobile:fw}，谢谢",
    "手机{mobile:fw}，微信同号",
    "身份证号{id:fw}，用来实名认证",
    "退款请退到原卡{card}，不要退余额",
    "换卡了，新卡{card}，旧卡尾号{tail4}已注销",
    "我人在国外，电话{intl}，发短信就行",
    "在美国的朋友帮我收货，他电话{us}",
    "收件人在英国，电话{uk}，能寄吗？",
    "你们电话号码{hotline}是不是换了？打不通",
    "买了{model}，屏幕有坏点。电话：{mobile}，邮箱：{email}",
    "差评！！！客服态度极差，扣了我{price}，卡号{card}，到现在不退",
    "我爸不会用手机，有事打家里座机{land}",
    "帮我把收货电话改成{mobile}，地址不变",
    "能开发票吗？抬头个人，邮相{email}",
    "为什么下单要填身份证？我填了{id}提示格式不对",
    "我的身份证最后一位是X，你们系统识别不了：{id:x_end}",
    "{mobile:numerals}是我电话，平台不让发数字只能这样写",
    "打我电话{mobile:numerals_spaced}，别打错",
    "我是{order}的买家，手机尾号{tail4}，完整号码{mobile}",
    "邮箱{email:fw}，麻烦把电子发票发过来",
    "快递单上的电话{mobile}不是我的，我的是{mobile}",
    "信用卡{card}被拒了，换了储蓄卡{card:up16}也不行",
    "我想批量采购50件卫衣，联系人电话{mobile}，邮箱{email}，座机{land}",
    "下单时手滑把邮箱写成了{email}，正确的是{email}",
    "{date}买的羽绒服（订单{order}），{price}，穿了两次就开线了。联系了{hotline}，让我走线上流程，上传了图片"
    "也没人理。我的电话{mobile}，邮箱{email}，希望尽快有人联系我，不然只能去消协投诉了。",
    "手机：{mobile}（工作日{time}以后）",
    "东西不错，物流也快，快递小哥提前用{mobile}联系我，点赞",
    "我的QQ邮箱{email:qq}，发那个就行",
    "号码是{mobile:space344}，别打错了",
    "香港地址可以寄吗？收件人电话{intl:hk}",
    "卡号{card:fw}，支付不了",
    "电话{land:dash}转{ext}，前台会转给我",
    "付款卡{card}，身份证{id}，手机{mobile}，你们到底还要什么信息才能退款？！",
    "我是企业客户，发票寄给财务，电话{land}，邮箱{email}",
    "请联系{email}或{mobile}，谢谢配合",
    "给差评了，卖家电话{hotline}打不通，邮箱{shop_email}也不回",
    "我的手机{mobile}收不到验证码，换个号{mobile}试试",
    "{mobile} 这个号码收货",
    "请问{email}这个邮箱注册的账号能注销吗",
    "电话：{mobile}\n身份证：{id}",
    "尺码不合适想换大一号，电话{mobile:dash344}",
    "东西收到了但少了一件，订单{order}，联系方式{mobile:plus86_space}",
    "帮我查一下{order}，登记的手机是{mobile:0086}",
    "这是我朋友的电话{mobile}，他帮我代收",
    "刚才客服让我发邮箱，{email}",
    "国际订单，收件人电话{intl}，地址发你私信了",
    "用银联卡{card:up19}付的，显示银行处理中",
    "我的邮箱是{email_obf:zh}",
    "客服电话是{hotline}吗？盒子上印的",
    "我在北京，白天打{land:bj}找我",
    "有事发邮件到{email}，电话经常静音",
    "衣服起球严重，要求退货。我的联系电话{mobile}，不要给我打营销电话！",
    "手机好码{mobile}，就是下单的那个号",
    "能不能别再往{email}发广告邮件了？烦死了",
    "信用卡号{card:g4dash}，有效期{exp}，麻烦帮我重新扣款",
    "你们的工作人员从{mobile}打来电话，说我中奖了，是真的吗？",
    "订单{order}的发票抬头写错了，重新开一下，发到{email}，电话{land}",
    "急！！！手机号{mobile}，快递员打不通电话，麻烦联系一下",
    "在吗在吗？？我的卡{card:fw_g4}被扣了两次钱",
    "身份证{id:spaced684}，护照还没办好，能先用这个清关吗",
    "你们的客服电话{hotline:join}一直占线，能不能加个人工客服",
    "发票邮箱{email}，纳税人识别号{taxid}",
    "我朋友在日本，电话{intl:jp}，能直邮吗",
    "实名认证一直失败，身份证{id}，手机{mobile}",
    "跨境商品清关需要的身份证号：{id}，收件人是我本人",
    "身份证号码是{id:x_lower}，最后是小写的x可以吗",
    "收货人是我妈，身份证{id}，电话{land}",
    "为什么要我提供身份证{id}？你们会不会泄露？",
    "我的卡号是{card}，帮我查下有没有扣款",
]

MIXED_POS = [
    "我的email是{email}，phone是{mobile}，order {order}",
    "Hi客服，请call我{mobile}，thanks",
    "Order {order} 还没发货, 我的 contact number 是 {us}",
    "退款refund到card {card}就好",
    "my 手机号 is {mobile:plain}, pls 尽快联系",
    "请发invoice到{email}，company抬头等下发",
    "ID number 身份证 {id}，for customs clearance",
    "客服 hotline {hotline} 一直busy",
    "我在UK，tel {uk}，可以ship过来吗？",
    "email: {email_obf}\n电话: {land}",
    "新手机{mobile}，new email {email}",
    "Paid with 银联卡 {card:up16}, 但是 order status 还是 unpaid",
    "size不对要exchange，联系{mobile}或{shop_email}",
    "WhatsApp {intl} / 微信同号",
    "我老公的phone {us}，he will pick up the parcel",
    "已经发email给{shop_email}了，still no reply！！",
    "账号login不了，绑定的email是{email}，手机{mobile:dash344}",
    "Visa卡{card:visa}被decline了 why",
    "电话plz打{land}，白天office都有人",
    "收件人 receiver: {mobile}, ID {id}",
    "质量ok，delivery很快，快递call了我{mobile}确认地址",
    "my mail {email:fw}，发那边",
    "contact me：{email}，或者{intl}",
    "order {order}, card {card}, 手机{mobile} — 全部信息都给你了，快点处理",
    "customs 要 ID，我的身份证号 {id:fw}，thanks",
]

EN_NEG = [
    "Where is my order {order}? It's been {days} days.",
    "Tracking {track} says delivered on {date} but there's nothing at my door.",
    "Is the {model} still {price}? It showed {pct} off yesterday.",
    "I ordered {qty} of {sku} and only got two.",
    "The refund reference you gave me is {bad16} but my bank can't find it.",
    "Firmware {version} bricked my {model}. Any fix?",
    "Checkout rejects my postcode {postcode}, why?",
    "This link gives a 404: {url}",
    "Invoice no. {bad16} for order {order}, amount {price}.",
    "Can you deliver on {date} between {time} and {time}?",
    "The card ending in {tail4} was charged {price} twice for {order}.",
    "Battery says 5000mAh and the charger is 65W, is it safe for the {model}?",
    "Does the {model} support 4K at 120Hz over HDMI 2.1?",
    "Ordered on {date}, paid {price}, still 'processing'. Order {order}.",
    "Size chart says chest 104 cm for L. I'm 180 cm, 75 kg. L or XL?",
    "My coupon SAVE15 doesn't work on the {model}, cart total {price}.",
    "Transaction ID {bad16}, status pending since {time}.",
    "Got {qty} but the packing slip says {qty}. Order {order}.",
    "Returned the jacket on {date}, return tracking {track}. When do I get my refund?",
    "Your app {version} crashes on iOS 17.4.1 when I open {order}.",
    "Which is better for gaming, the RTX 4070 Ti or the RTX 4090? Budget around {price}.",
    "Price dropped from {price:usd} to {price:usd} a day after I bought it. Can I get the difference back?",
    "The router admin page {ip} won't load after the update.",
    "Package weighs 2.4 kg, 45x30x12 cm. Why is shipping $38.50??",
    "4/5. Comfy shoes (EU 42), run a bit small. Arrived {date}.",
    "Absolute garbage!!! {model} died after {days} days, order {order}, I want my {price} back.",
    "Is {track} your tracking number or the courier's? Their site says not found.",
    "Serial number {serial}, is it still under warranty? Bought it on {date}.",
    "Your page {url} shows the wrong price ({price:usd} instead of {price:usd}).",
    "Can order {order} and order {order} ship together?",
    "Gift card code {giftcode} says already used, but I never used it.",
    "Ticket #{ticket}: still no answer after {days} days.",
    "Reference {bad18} from the payment gateway, status unknown.",
    "The monitor is 27\" 2560x1440 at 165Hz, right? The spec page says 144Hz.",
    "Order {order} placed at {time} on {date}, the confirmation email never came.",
    "I'm 5'10\" and 165 lbs, would a medium hoodie fit?",
    "Delivery estimate says {date} to {date}, that's {days} days for express?",
    "Got an SMS with code 482913, is that from you?",
    "5 stars, the {model} is fast, 256GB is plenty. Shipped in 2 days.",
    "Black Friday: {pct} off orders over {price}? Does it stack with the student discount?",
    "Where do I find my order number? Is it the {order} thing or {track}?",
    "Parcel held at the depot, postcode {postcode}, open 9:00-17:30 according to their site.",
    "Barcode {ean} on the box doesn't match the listing, is it a fake?",
    "I'd like 3 of the 2-pack socks (SKU {sku}), total should be {price} with {pct} off.",
    "payment ref {bad16:g4} shows twice on my statement dated {date}",
    "The warranty registration code {bad16} printed on the card is rejected by your site.",
    "Your email says refund ID {bad16}, amount {price}. It's been {days} days, where is it?",
    "My bank statement line reads MAPLEMARKET {bad16} {price}, is that the jacket or the boots?",
    "Your refund confirmation number {bad18} isn't recognised by my bank.",
    "@MapleMarket on Twitter still hasn't answered my DM about {order} from {date}.",
]

ZH_NEG = [
    "订单{order}怎么还没发货？都{days}天了",
    "顺丰单号{track:sf}，显示{date}已签收，我根本没收到！",
    "{model}现在多少钱？昨天还是{price}",
    "满300减50的券为什么用不了？订单金额{price}",
    "尺码选了175/96A，能换成180/100A吗？",
    "退款流水号{bad18}，银行说查不到",
    "交易单号{bad16}，一直显示处理中",
    "升级到固件{version}之后蓝牙连不上了",
    "@客服小美 你好，{order}的发票开了吗？",
    "路由器后台{ip}登不上，怎么办",
    "邮编{postcode}，为什么提示不在配送范围？",
    "这个链接打不开：{url}",
    "我买了{qty}，只收到两件，订单{order}",
    "{date} {time}前能送到吗？急用",
    "衣服洗了一次就缩水，{price}买的，太坑了！差评",
    "{model}和{model}哪个好？预算{price}左右",
    "快递显示{date}到达，现在都{date}了",
    "发票税号{taxid}，抬头某某科技有限公司，麻烦开专票",
    "手机壳是iPhone 15 Pro Max的吗？6.7英寸那款",
    "订单{order}和{order}能合并发货吗？",
    "能便宜点吗？{price}太贵了，别家才{price}",
    "物流单号{track}一直没更新，是不是丢件了",
    "充电器是65W的吗？我的{model}支持吗",
    "显示器27英寸2560x1440，165Hz，色域95% DCI-P3，参数是真的吗",
    "我的积分13800分怎么用不了",
    "退货寄回的单号是{track}，什么时候退款？",
    "收件人电话显示{masked_mobile}，是我的号码吗？",
    "工单号{ticket}，已经{days}天没人处理了",
    "我{date}买的，价保期是多久？现在降价到{price}了",
    "鞋码42偏小吗？平时穿41.5",
    "请问{model}有国行版吗？型号{sku}",
    "收到的货品编号{serial}，和页面上的不一样",
    "优惠券码MAPLE2026提示已过期，有效期到{date}",
    "页面写着“{time}前下单当日发货”，我{time}下的单怎么没发？",
    "版本号{version}的App打不开订单详情",
    "羽绒服含绒量90%，充绒量200g，零下20度够穿吗",
    "差评，{model}用了{days}天屏幕就闪，订单{order}，{price}白花了",
    "电子发票号码{invoice20}，金额不对",
    "能开发票吗？订单号{order}，金额{price}，税点6%",
    "包裹重2.5kg，运费怎么要68元？",
    "支付宝交易号{alipay28}，麻烦查一下到账没有",
    "好评！{model}音质很好，降噪也强，物流{days}天就到了",
    "商品条码{ean}和包装上的对不上，是正品吗",
    "订单{order:fw}，{date}付的款，一直没发货",
    "退款单号{bad16:fw}，说好的3-7个工作日，今天第{days}天了",
    "售后服务单号{bad16}，寄回的{model}检测结果出来了吗",
    "保修卡上的编号{bad16}在官网查不到，是不是假货？",
    "银行流水号{bad16}，{date}扣的{price}，对应哪个订单？",
    "淘宝那边的订单编号{bad18}，和你们这边的{order}是同一单吗？",
]

MIXED_NEG = [
    "Order {order} 什么时候ship？",
    "tracking {track} 显示delivered但是没收到",
    "{model} 有没有discount？现在{price}",
    "size M 还是 L？我170cm 65kg",
    "refund reference {bad16} 银行查不到",
    "app {version} 一直crash，打不开{order}",
    "这个link {url} 打不开，404",
    "promo code SAVE15 用不了, cart total {price}",
    "deliver on {date} {time} 可以吗",
    "SKU {sku} 还有stock吗",
    "交易 ID {bad18}, status pending",
    "{qty} ordered 但只收到一件, 订单 {order}",
    "快递 ETA {date}，too slow",
    "评分5/5，{model}超级好用，recommend！",
    "invoice 号码 {bad16}，amount {price} 不对",
    "warranty code {bad16:g4} 在官网显示invalid",
    "@MapleMarket 微博私信了，order {order} 一直没人回",
]

OPENERS = {
    "en": ["", "", "", "", "Hi,", "Hello,", "Hi there!", "hey", "Good morning,", "Dear support,", "URGENT:",
           "Hello team,", "Excuse me,"],
    "zh": ["", "", "", "", "你好，", "在吗？", "客服在吗，", "亲，", "您好，", "急！", "喂，", "麻烦问一下，"],
    "mixed": ["", "", "", "Hi，", "hello 客服，", "在吗，"],
}
CLOSERS = {
    "en": ["", "", "", "", "Thanks.", "thx", "Thanks in advance!", "Regards.", "Sent from my iPhone", "Cheers",
           "Please help.", "!!!", "Sent from my iPhone 15", "Thank you so much"],
    "zh": ["", "", "", "", "谢谢！", "谢谢", "麻烦尽快处理", "？？？", "快点回复！", "辛苦了", "在线等，挺急的",
           "谢谢啦~"],
    "mixed": ["", "", "", "thanks!", "谢谢", "ASAP pls"],
}
# A long customer story without personal data, put in front of some texts so that long messages are covered.
PREAMBLES = {
    "en": ["I ordered a winter jacket and a pair of wireless earbuds on {date} (order {order}), paid {price} in "
           "total with the {pct} code, and the tracking {track} has not moved for five days. I already asked "
           "twice in this chat and got an automatic answer both times, which is not OK.",
           "I've been a customer since 2019 and this is the first time I'm really disappointed. The {model} I got "
           "on {date} was clearly used: scratches on the back, a fingerprint on the screen, battery at 87%.",
           "So I bought the {model} during the sale for {price}, and two days later the price dropped by another "
           "{pct}. That alone I could live with, but now the box arrived without the charger."],
    "zh": ["我{date}在你们店买了一件羽绒服和一条牛仔裤（订单{order}），一共{price}，用了{pct}的券。羽绒服到了，"
           "牛仔裤一直没到，物流单号{track}五天没更新了，问了两次客服都是机器人回复，真的很无语。",
           "我是老客户了，这次真的很失望。{date}收到的{model}明显是二手的，背面有划痕，屏幕上还有指纹，电池健康"
           "只有87%。",
           "活动的时候{price}买的{model}，结果两天后又降了{pct}，这个也就算了，打开盒子发现充电器都没有。"],
    "mixed": ["我{date}下的order {order}，paid {price}，到现在tracking {track}都没update，真的too slow了。"],
}

SLOT = re.compile(r"\{(\w+)(?::(\w+))?\}")
GREETING = re.compile(r"(hi|hey|hello|dear|good morning|你好|您好|在吗|亲|喂)", re.I)


def fill(template: str, lang: str, values: Values) -> tuple[str, list[dict]]:
    """The template with its slots filled, and the personal items it now holds, in order."""
    text, pii, pos = "", [], 0
    for m in SLOT.finditer(template):
        name, form = m.group(1), m.group(2)
        value = getattr(values, name)(lang, form)
        text += template[pos:m.start()] + value
        if name in KIND:
            pii.append({"kind": KIND[name], "value": value})
        pos = m.end()
    return text + template[pos:], pii


def compose(body: str, lang: str, values: Values, rng: random.Random, long: bool) -> tuple[str, list[dict]]:
    sep = " " if lang == "en" else ("" if lang == "zh" else " ")
    parts = []
    if long:
        parts.append(rng.choice(PREAMBLES[lang]))
    opener = rng.choice(OPENERS[lang])
    if opener and not long and not GREETING.match(body):
        parts.append(opener)
        if (opener.endswith(",") or opener == "hey") and re.match(r"[A-Z][a-z]+\b(?! [A-Z])", body):
            body = body[0].lower() + body[1:]
    parts.append(body)
    closer = rng.choice(CLOSERS[lang])
    if closer:
        parts.append(closer)
    template = sep.join(parts)
    return fill(template, lang, values)


def build() -> list[dict]:
    rng = random.Random(SEED)
    values = Values(rng)
    pools = {("en", True): EN_POS, ("zh", True): ZH_POS, ("mixed", True): MIXED_POS,
             ("en", False): EN_NEG, ("zh", False): ZH_NEG, ("mixed", False): MIXED_NEG}
    records, seen = [], set()
    for (lang, positive), target in TARGETS.items():
        pool = pools[(lang, positive)]
        # every template once, then a random subset again (different values, forms, openers) up to the target
        order = list(pool)
        while len(order) < target:
            extra = list(pool)
            rng.shuffle(extra)
            order += extra[:target - len(order)]
        order = order[:target]
        for body in order:
            for _ in range(20):
                text, pii = compose(body, lang, values, rng, long=rng.random() < 0.08)
                if text not in seen:
                    break
            seen.add(text)
            records.append({"lang": lang, "text": text, "pii": pii})
    rng.shuffle(records)
    return [{"id": f"pii-{i:04d}", **r} for i, r in enumerate(records, 1)]


# --------------------------------------------------------------------------------------------- checks

DIGIT_RUN = re.compile(r"\d(?:[ \-]?\d)*")
ID_LIKE = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
MOBILE_LIKE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
EMAIL_LIKE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")


def check(records: list[dict]) -> list[str]:
    """Every problem with the labels; an empty list when the set is consistent."""
    problems = []
    ids, texts = set(), set()
    for r in records:
        rid, text, pii = r["id"], r["text"], r["pii"]
        if rid in ids or text in texts:
            problems.append(f"{rid}: duplicate id or text")
        ids.add(rid)
        texts.add(text)
        if r["lang"] not in ("en", "zh", "mixed"):
            problems.append(f"{rid}: bad lang")
        spans = []
        for item in pii:
            kind, value = item["kind"], item["value"]
            if kind not in ("email", "phone", "card", "id_number"):
                problems.append(f"{rid}: unknown kind {kind}")
            if text.count(value) != 1:
                problems.append(f"{rid}: {value!r} occurs {text.count(value)} times in the text")
                continue
            start = text.index(value)
            spans.append((start, start + len(value)))
            folded = fold(value)
            if kind == "card":
                digits = re.sub(r"[ \-]", "", folded)
                if not (digits.isdigit() and 13 <= len(digits) <= 19 and luhn_ok(digits)):
                    problems.append(f"{rid}: card {value!r} fails Luhn")
            elif kind == "id_number":
                if not id_ok(folded.replace(" ", "")):
                    problems.append(f"{rid}: ID {value!r} fails the checksum")
            elif kind == "email":
                if not any(mark in folded for mark in ("@", " at ", " AT ", "[at]", "(at)", "艾特", "#")):
                    problems.append(f"{rid}: e-mail {value!r} has no @ or spelt-out at")
            elif kind == "phone":
                spelt = re.search("[零一二三四五六七八九幺]{11}", value.replace(" ", ""))
                if sum(c.isdigit() for c in folded) < 10 and not spelt:
                    problems.append(f"{rid}: phone {value!r} is too short")
        if spans != sorted(spans) or any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
            problems.append(f"{rid}: items overlap or are out of order")
        # What is not labelled must not be personal data of these kinds.
        rest = fold(text)
        for a, b in spans:
            rest = rest[:a] + "¦" * (b - a) + rest[b:]
        for m in DIGIT_RUN.finditer(rest):
            digits = re.sub(r"[ \-]", "", m.group())
            if 13 <= len(digits) <= 19 and luhn_ok(digits):
                problems.append(f"{rid}: unlabelled {m.group()!r} passes Luhn")
        for m in ID_LIKE.finditer(rest):
            if id_ok(m.group()):
                problems.append(f"{rid}: unlabelled {m.group()!r} passes the ID checksum")
        for pattern in (MOBILE_LIKE, EMAIL_LIKE):
            for m in pattern.finditer(rest):
                problems.append(f"{rid}: unlabelled {m.group()!r}")
        if not pii and not re.search(r"\d", fold(text)):
            problems.append(f"{rid}: a negative without any number")
    negatives = [r for r in records if not r["pii"]]
    if len(records) < 360:
        problems.append(f"only {len(records)} texts")
    if not 0.3 <= len(negatives) / len(records) <= 0.37:
        problems.append(f"{len(negatives)} hard negatives of {len(records)}: not about a third")
    bad16 = [d for r in negatives for d in (re.sub(r"[ \-]", "", m.group()) for m in DIGIT_RUN.finditer(fold(r["text"])))
             if len(d) == 16]
    if len(bad16) < 15 or any(luhn_ok(d) for d in bad16):
        problems.append(f"hard-negative 16-digit numbers: {len(bad16)}, all must fail Luhn")
    return problems


def stats(records: list[dict]) -> str:
    langs = Counter(r["lang"] for r in records)
    neg = Counter(r["lang"] for r in records if not r["pii"])
    kinds = Counter(item["kind"] for r in records for item in r["pii"])
    texts_with = Counter(k for r in records for k in {item["kind"] for item in r["pii"]})
    multi = sum(len(r["pii"]) > 1 for r in records)
    fw = sum(any(fold(i["value"]) != i["value"] for i in r["pii"]) for r in records)
    lines = [f"{len(records)} texts: " + ", ".join(f"{k} {langs[k]} ({neg[k]} negative)" for k in ("en", "zh", "mixed")),
             f"hard negatives (no personal data): {sum(neg.values())}",
             "items per kind: " + ", ".join(f"{k} {kinds[k]} (in {texts_with[k]} texts)"
                                            for k in ("email", "phone", "card", "id_number")),
             f"texts with several items: {multi}; with a full-width item: {fw}"]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the file on disk instead of writing it")
    args = parser.parse_args()
    records = build()
    problems = check(records)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    out = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if args.check:
        on_disk = check([json.loads(line) for line in OUT.read_text(encoding="utf-8").splitlines()])
        if on_disk or OUT.read_text(encoding="utf-8") != out:
            print("\n".join(on_disk) or f"{OUT} differs from what {Path(__file__).name} writes", file=sys.stderr)
            return 1
        print(f"{OUT} is up to date\n" + stats(records))
        return 0
    OUT.write_text(out, encoding="utf-8")
    print(f"wrote {OUT}\n" + stats(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
