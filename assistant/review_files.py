"""Reading a file of product reviews (CSV or JSON Lines) one row at a time, whatever its size.

Columns are found by name (`text`/`review`/`评论`, `product`/`cat`/`商品`, `date`/`时间`, `rating`/`评分`,
`label`) or named explicitly. A row that cannot be read (bad JSON, bad UTF-8, no text, a date or rating
that is not one) is skipped and counted with its line number; the rest of the file is still read.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from assistant.errors import InvalidInput
from assistant.pii import CUT_MARGIN
from assistant.tables import as_utc

TEXT_COLUMNS = ("text", "review", "content", "comment", "body", "评论", "内容", "评价")
PRODUCT_COLUMNS = ("product", "product_name", "item", "sku", "cat", "category", "商品", "产品", "类别")
DATE_COLUMNS = ("date", "created_at", "reviewed_at", "time", "timestamp", "日期", "时间")
RATING_COLUMNS = ("rating", "stars", "star", "score", "评分", "星级")
LABEL_COLUMNS = ("label", "sentiment", "polarity", "情感")
CSV_SUFFIXES = (".csv", ".tsv")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
# Labels a file may give for a review's sentiment (the review model's training data).
LABELS = {"1": "positive", "positive": "positive", "pos": "positive", "好评": "positive", "正面": "positive",
          "0": "negative", "negative": "negative", "neg": "negative", "差评": "negative", "负面": "negative",
          "neutral": "neutral", "中评": "neutral", "中性": "neutral"}
# A line longer than this is not one review (a JSON array on one line, a file without line breaks).
MAX_LINE_BYTES = 1_000_000
_ZH_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")


@dataclass(frozen=True)
class Columns:
    """Which column holds what; None means "find it by its usual names"."""

    text: str | None = None
    product: str | None = None
    date: str | None = None
    rating: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class RawReview:
    line: int
    text: str
    product: str | None = None
    date: datetime | None = None
    rating: float | None = None
    label: str | None = None   # positive | neutral | negative, when the file says


@dataclass
class ReviewFile:
    """The rows of one review file, read lazily; `skipped` fills as rows are read."""

    path: Path
    columns: Columns = field(default_factory=Columns)
    max_chars: int = 2000
    skipped: int = 0
    problems: list[str] = field(default_factory=list)   # the first few skipped rows, with why
    bytes_read: int = 0

    def __post_init__(self):
        self.path = Path(self.path)
        if not self.path.is_file():
            raise InvalidInput(f"{self.path} is not a file: give a CSV or JSON Lines file of reviews")
        suffix = self.path.suffix.lower()
        if suffix not in CSV_SUFFIXES + JSONL_SUFFIXES:
            raise InvalidInput(f"{self.path.name}: expected a .csv, .tsv or .jsonl file of reviews, "
                               f"found {suffix or 'no extension'}")
        self.size = self.path.stat().st_size

    def __iter__(self) -> Iterator[RawReview]:
        with self.path.open("rb") as raw:
            lines = self._lines(raw)
            if self.path.suffix.lower() in CSV_SUFFIXES:
                yield from self._csv_rows(lines)
            else:
                yield from self._jsonl_rows(lines)

    def skip(self, line: int, why: str) -> None:
        self.skipped += 1
        if len(self.problems) < 10:
            self.problems.append(f"line {line}: {why}")

    def _lines(self, raw) -> Iterator[tuple[int, str]]:
        """(line number, text) of each line; a line that is not UTF-8, or longer than MAX_LINE_BYTES, is
        skipped and counted (read in pieces, so one huge line never sits in memory whole)."""
        number = 0
        while data := raw.readline(MAX_LINE_BYTES + 1):
            number += 1
            self.bytes_read += len(data)
            if len(data) > MAX_LINE_BYTES and not data.endswith(b"\n"):
                while (rest := raw.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    self.bytes_read += len(rest)
                self.bytes_read += len(rest)
                if number == 1:
                    raise InvalidInput(f"{self.path.name}: the first line is longer than {MAX_LINE_BYTES:,} bytes: "
                                       "expected a header row (CSV) or one review per line (JSON Lines)")
                self.skip(number, f"longer than {MAX_LINE_BYTES:,} bytes")
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                if number == 1:
                    raise InvalidInput(f"{self.path.name} is not UTF-8 text: save it as UTF-8 and try again") from None
                self.skip(number, "not UTF-8")
                continue
            yield number, text.removeprefix("\ufeff") if number == 1 else text

    def _csv_rows(self, lines: Iterator[tuple[int, str]]) -> Iterator[RawReview]:
        # The line a record starts on (a quoted field may span lines): the first line read after the last record.
        start = {"line": 0, "fresh": True}

        def texts():
            for number, text in lines:
                if start["fresh"]:
                    start["line"], start["fresh"] = number, False
                yield text

        delimiter = "\t" if self.path.suffix.lower() == ".tsv" else ","
        reader = csv.reader(texts(), delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise InvalidInput(f"{self.path.name} is empty: expected a header row and one review per row") from None
        except csv.Error as exc:
            raise InvalidInput(f"{self.path.name} is not a readable CSV file ({exc})") from None
        found = self._find_columns([h.strip() for h in header])
        while True:
            start["fresh"] = True
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self.skip(start["line"], f"not CSV ({exc})")
                continue
            if not any(cell.strip() for cell in row):
                continue
            values = {name: row[i] if i < len(row) else "" for name, i in found.items()}
            review = self._review(start["line"], values)
            if review is not None:
                yield review

    def _jsonl_rows(self, lines: Iterator[tuple[int, str]]) -> Iterator[RawReview]:
        columns: dict[tuple[str, ...], dict[str, str]] = {}  # key set -> role -> key (a few key sets per file)
        objects = 0
        for number, text in lines:
            if not text.strip():
                continue
            first = not objects
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                if first and text.lstrip().startswith("["):
                    raise InvalidInput(f"{self.path.name} holds a JSON array: expected JSON Lines, one review "
                                       "object per line") from None
                self.skip(number, f"not JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                if first and isinstance(obj, list):
                    raise InvalidInput(f"{self.path.name} holds a JSON array: expected JSON Lines, one review "
                                       "object per line")
                self.skip(number, "not a JSON object")
                continue
            objects += 1
            keys = tuple(obj)
            if keys not in columns:
                if len(columns) > 100:  # a file whose every row has other keys: columns found afresh each time
                    columns.clear()
                try:
                    columns[keys] = self._find_columns(list(keys))
                except InvalidInput:
                    if first:  # the first review decides: a file of something else is an error, not skipped rows
                        raise
                    self.skip(number, f"no review text field (its fields: {', '.join(keys)})"[:160])
                    continue
            found = columns[keys]
            values = {role: obj.get(key) for role, key in found.items()}
            review = self._review(number, {k: "" if v is None else str(v) for k, v in values.items()})
            if review is not None:
                yield review

    def _find_columns(self, names: list[str]):
        """role -> column (an index for CSV, a key for JSON) of each column the file has."""
        lowered = {name.lower(): i for i, name in enumerate(names)}
        found = {}
        for role, usual in (("text", TEXT_COLUMNS), ("product", PRODUCT_COLUMNS), ("date", DATE_COLUMNS),
                            ("rating", RATING_COLUMNS), ("label", LABEL_COLUMNS)):
            wanted = getattr(self.columns, role)
            if wanted is not None and wanted.lower() not in lowered:
                raise InvalidInput(f"{self.path.name} has no column {wanted!r} (its columns: {', '.join(names)})")
            for candidate in ([wanted] if wanted else usual):
                if candidate.lower() in lowered:
                    index = lowered[candidate.lower()]
                    found[role] = index if self.path.suffix.lower() in CSV_SUFFIXES else names[index]
                    break
        if "text" not in found:
            raise InvalidInput(f"{self.path.name} has no review text column: name it one of {', '.join(TEXT_COLUMNS)} "
                               f"or pass --text-column (its columns: {', '.join(names)})")
        return found

    def _review(self, line: int, values: dict[str, str]) -> RawReview | None:
        text = values.get("text", "").strip()
        if not text:
            self.skip(line, "no review text")
            return None
        try:
            date = parse_date(values.get("date", ""))
            rating = parse_rating(values.get("rating", ""))
            label = parse_label(values.get("label", ""))
        except ValueError as exc:
            self.skip(line, str(exc))
            return None
        product = values.get("product", "").strip()[:200] or None
        # Kept a margin past the limit: personal data is masked whole before the cut (assistant.pii.mask_and_cut).
        return RawReview(line, text[:self.max_chars + CUT_MARGIN], product, date, rating, label)


def parse_date(value: str) -> datetime | None:
    """ISO dates and times (`2026-11-29`, `2026/11/29 10:00`, `...Z`) and `2026年11月29日`, as UTC."""
    value = value.strip()
    if not value:
        return None
    zh = _ZH_DATE.fullmatch(value)
    if zh:
        value = "-".join(part.zfill(2) for part in zh.groups())
    try:
        moment = datetime.fromisoformat(value.replace("/", "-"))
    except ValueError:
        raise ValueError(f"date {value[:40]!r} is not a date (expected e.g. 2026-11-29)") from None
    return as_utc(moment)


def parse_rating(value: str) -> float | None:
    """A star rating from 0 to 5."""
    value = value.strip()
    if not value:
        return None
    try:
        rating = float(value)
    except ValueError:
        raise ValueError(f"rating {value[:20]!r} is not a number") from None
    if not 0 <= rating <= 5:
        raise ValueError(f"rating {rating:g} is not between 0 and 5")
    return rating


def parse_label(value: str) -> str | None:
    value = value.strip().lower()
    if not value:
        return None
    if value not in LABELS:
        raise ValueError(f"label {value[:20]!r} is not one of 1/0, positive/negative/neutral, 好评/差评/中评")
    return LABELS[value]


def label_from_rating(rating: float | None) -> str | None:
    """Stars as a sentiment label: 1-2 negative, 3 neutral, 4-5 positive."""
    if rating is None:
        return None
    return "negative" if rating <= 2 else "neutral" if rating < 4 else "positive"
