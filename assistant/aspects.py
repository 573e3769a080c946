"""What a review is about (quality, delivery, price, service, packaging), clause by clause.

An aspect is named by words in either language; a review's clauses are split at punctuation and at
"but"/"但是", so "物流很快，但是质量很差" is positive about delivery and negative about quality. The shop
may replace the word lists with its own in `knowledge/aspects.yaml` ({aspect: [word, ...]}).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from retrieval.errors import KnowledgeError

ASPECTS_FILE = "aspects.yaml"
DEFAULT_ASPECTS: dict[str, tuple[str, ...]] = {
    "quality": ("quality", "broke", "broken", "defective", "faulty", "cheaply made", "flimsy", "durable", "sturdy",
                "stopped working", "doesn't work", "does not work", "fake", "质量", "品质", "做工", "坏了", "坏",
                "故障", "破损", "耐用", "结实", "假货", "正品", "瑕疵", "用料", "材质"),
    "delivery": ("delivery", "shipping", "shipped", "arrived", "courier", "late", "slow to arrive", "tracking",
                 "物流", "快递", "送货", "发货", "配送", "到货", "送达", "运输"),
    "price": ("price", "expensive", "cheap", "value for money", "overpriced", "worth", "discount", "价格", "价钱",
              "贵", "便宜", "性价比", "划算", "优惠", "值"),
    "service": ("service", "support", "customer service", "staff", "seller", "refund", "return", "reply",
                "客服", "服务", "态度", "售后", "商家", "卖家", "退货", "退款", "前台"),
    "packaging": ("packaging", "package", "packed", "box", "wrapping", "包装", "盒子", "外包装", "包裹", "箱子"),
}
# Where a review turns: punctuation, line breaks, and the words that introduce a contrast.
_CLAUSE_BREAK = re.compile(r"[。！？!?；;，,、\n]+|\s+(?:but|however|although|though|yet)\s+|但是|不过|可是|然而",
                           re.IGNORECASE)


def clauses(text: str) -> list[str]:
    """The text's clauses, stripped, without empty ones."""
    return [part.strip() for part in _CLAUSE_BREAK.split(text) if part and part.strip()]


@lru_cache(maxsize=8)
def _compiled(lexicon: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[tuple[str, re.Pattern], ...]:
    out = []
    for aspect, words in lexicon:
        alternatives = [rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])" if w.isascii() else re.escape(w)
                        for w in sorted(words, key=len, reverse=True)]
        out.append((aspect, re.compile("|".join(alternatives), re.IGNORECASE)))
    return tuple(out)


def aspects_in(text: str, lexicon: dict[str, tuple[str, ...]]) -> list[str]:
    """The aspects a text names, in the lexicon's order.

    Example:
        >>> aspects_in("物流很快，包装也好", DEFAULT_ASPECTS)
        ['delivery', 'packaging']
    """
    return [aspect for aspect, pattern in _compiled(tuple(lexicon.items())) if pattern.search(text)]


def load_aspects(knowledge_dir: Path) -> dict[str, tuple[str, ...]]:
    """The shop's aspects from `knowledge/aspects.yaml`, or DEFAULT_ASPECTS when it has none."""
    path = Path(knowledge_dir) / ASPECTS_FILE
    if not path.is_file():
        return DEFAULT_ASPECTS
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path} is not readable YAML ({exc})") from exc
    if not isinstance(data, dict) or not data or not all(
            isinstance(k, str) and re.fullmatch(r"[a-z][a-z0-9_]{0,47}", k) and isinstance(v, list) and v
            and all(isinstance(w, str) and w.strip() for w in v) for k, v in data.items()):
        raise KnowledgeError(f"{path} must map aspect names (lower_snake_case) to non-empty lists of words, "
                             "e.g. `delivery: [delivery, 物流, 快递]`")
    return {aspect: tuple(w.strip() for w in words) for aspect, words in data.items()}
