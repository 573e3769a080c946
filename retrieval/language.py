"""Which of the supported languages a text is written in."""

import re

LANGUAGES = ("en", "zh")

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def detect_language(text: str) -> str:
    """'zh' when the text has at least as many Chinese characters as Latin words, else 'en'.

    So "MM20261104 到哪了" is Chinese and "is the 羽绒服 in stock" is English.
    """
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(text))
    return "zh" if cjk and cjk >= words else "en"
