"""PII masking measured on the labelled set `tests/data/pii_set.jsonl` (EN + ZH customer texts, with hard
negatives: order ids, prices, dates, tracking numbers, numbers failing the card or ID checksum).

    python bench/pii.py [--set tests/data/pii_set.jsonl] [--show-misses]

Prints one JSON object: recall overall and per kind (an item counts as masked when neither it nor its run of
digits is left in the masked text), precision (masks that cover a labelled item, of all masks made), the
false masks on texts with no personal data, and masking throughput.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.pii import mask  # noqa: E402

DEFAULT_SET = ROOT / "tests" / "data" / "pii_set.jsonl"


def _digits(text: str) -> str:
    return "".join(ch for ch in text.translate({cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)}) if ch.isdigit())


def masked_away(value: str, masked_text: str) -> bool:
    """Neither the value nor (for numbers) its run of digits survives masking."""
    digits = _digits(value)
    return value not in masked_text and (len(digits) < 7 or digits not in _digits(masked_text))


def measure(rows: list[dict]) -> dict:
    caught, total, per_kind, per_kind_caught = 0, 0, Counter(), Counter()
    masks, true_masks, false_on_clean, clean_texts = 0, 0, 0, 0
    misses, false_masks = [], []
    started = time.perf_counter()
    results = [mask(row["text"]) for row in rows]
    seconds = time.perf_counter() - started
    for row, result in zip(rows, results):
        items = row["pii"]
        hit = [masked_away(item["value"], result.text) for item in items]
        total += len(items)
        caught += sum(hit)
        for item, ok in zip(items, hit):
            per_kind[item["kind"]] += 1
            per_kind_caught[item["kind"]] += ok
            if not ok:
                misses.append({"id": row["id"], "kind": item["kind"], "value": item["value"], "masked": result.text})
        made = len(result.found)
        masks += made
        true_masks += min(made, sum(hit))
        if made > sum(hit):
            false_masks.append({"id": row["id"], "text": row["text"], "masked": result.text})
        if not items:
            clean_texts += 1
            false_on_clean += made > 0
    return {"texts": len(rows), "items": total, "recall": round(caught / total, 4) if total else None,
            "recall_per_kind": {k: f"{per_kind_caught[k]}/{n}" for k, n in sorted(per_kind.items())},
            "masks_made": masks, "precision": round(true_masks / masks, 4) if masks else None,
            "texts_without_pii": clean_texts, "false_masks_on_them": false_on_clean,
            "texts_per_second": round(len(rows) / seconds, 1), "misses": misses, "false_masks": false_masks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--show-misses", action="store_true", help="List every miss and false mask.")
    opts = parser.parse_args()
    rows = [json.loads(line) for line in opts.set.read_text(encoding="utf-8").splitlines() if line.strip()]
    result = measure(rows)
    if not opts.show_misses:
        result["misses"], result["false_masks"] = len(result["misses"]), len(result["false_masks"])
    print(json.dumps(result, ensure_ascii=False, indent=None if not opts.show_misses else 1))


if __name__ == "__main__":
    main()
