"""Labelled text for the classifier: CSV, JSONL and CLINC-style JSON files, and stratified splits.

Every reader returns `Example`s; out-of-scope rows (CLINC's `oos_*` lists, or rows whose label is one
of `OOS_LABELS`) keep their label, so a data set that has them trains an out-of-scope class.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.classifier import OOS_LABELS
from retrieval.errors import KnowledgeError

TEXT_COLUMNS = ("text", "review", "utterance")
LABEL_COLUMNS = ("label", "category", "intent")


@dataclass(frozen=True)
class Example:
    """One labelled text; `labels` maps a head ("intent", "sentiment") to its label, absent when unknown."""

    text: str
    labels: tuple[tuple[str, str], ...]

    def label(self, head: str) -> str | None:
        """This example's label for `head`, None when it has none."""
        return dict(self.labels).get(head)


@dataclass(frozen=True)
class LabelledSet:
    """The splits of one data file; `dev` and `test` are empty when the file has none."""

    train: list[Example]
    dev: list[Example]
    test: list[Example]


def read_labelled(path: Path, head: str = "intent") -> LabelledSet:
    """Read a CSV (header with a text and a label column), JSONL (`text`, `label`) or CLINC-style JSON file.

    CSV and JSONL files hold one split (returned as `train`); a CLINC-style JSON file holds
    `train`/`val`/`test` lists of `[text, label]` and `oos_*` lists of out-of-scope rows.
    Raises KnowledgeError naming the file (and line) when it cannot be read as any of them.
    """
    path = Path(path)
    if not path.is_file():
        raise KnowledgeError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return LabelledSet(_read_csv(path, head), [], [])
        if suffix in (".jsonl", ".ndjson"):
            return LabelledSet(_read_jsonl(path, head), [], [])
        if suffix == ".json":
            return _read_clinc(path, head)
    except UnicodeDecodeError as exc:
        raise KnowledgeError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    raise KnowledgeError(f"{path}: expected a .csv, .jsonl or CLINC-style .json file, got {suffix or 'no suffix'!r}")


def _example(text, label, head: str, where: str) -> Example:
    if not isinstance(text, str) or not text.strip():
        raise KnowledgeError(f"{where}: the text is empty or not a string")
    if label is None or (isinstance(label, str) and not label.strip()):
        raise KnowledgeError(f"{where}: the label is empty")
    return Example(text.strip(), ((head, str(label).strip()),))


def _pick(columns: list[str], wanted: tuple[str, ...], path: Path, what: str) -> str:
    lowered = {c.strip().lower().lstrip("\ufeff"): c for c in columns}
    for name in wanted:
        if name in lowered:
            return lowered[name]
    raise KnowledgeError(f"{path}: no {what} column (expected one of {', '.join(wanted)}; found "
                         f"{', '.join(columns) or 'no header'})")


def _read_csv(path: Path, head: str) -> list[Example]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        text_col = _pick(reader.fieldnames or [], TEXT_COLUMNS, path, "text")
        label_col = _pick(reader.fieldnames or [], LABEL_COLUMNS, path, "label")
        rows = []
        for row in reader:
            if not (row.get(text_col) or "").strip():
                continue  # blank reviews exist in public data: nothing to learn from them
            rows.append(_example(row[text_col], row.get(label_col), head, f"{path}:{reader.line_num}"))
    if not rows:
        raise KnowledgeError(f"{path}: no labelled rows")
    return rows


def _read_jsonl(path: Path, head: str) -> list[Example]:
    rows = []
    with open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise KnowledgeError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise KnowledgeError(f"{path}:{number}: expected an object with `text` and `label`")
            text = next((record[c] for c in TEXT_COLUMNS if c in record), None)
            label = next((record[c] for c in LABEL_COLUMNS if c in record), None)
            rows.append(_example(text, label, head, f"{path}:{number}"))
    if not rows:
        raise KnowledgeError(f"{path}: no labelled rows")
    return rows


def _read_clinc(path: Path, head: str) -> LabelledSet:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise KnowledgeError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("train"), list):
        raise KnowledgeError(f"{path}: expected a CLINC-style object with a `train` list of [text, label] pairs")

    def split(*names: str) -> list[Example]:
        out = []
        for name in names:
            for i, pair in enumerate(data.get(name) or []):
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise KnowledgeError(f"{path}: {name}[{i}] is not a [text, label] pair")
                out.append(_example(pair[0], pair[1], head, f"{path}: {name}[{i}]"))
        return out

    return LabelledSet(split("train", "oos_train"), split("val", "oos_val"), split("test", "oos_test"))


def stratified_split(examples: list[Example], head: str, fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """(rest, held out): `fraction` of each label's examples held out, at least one where a label has two."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, example in enumerate(examples):
        by_label.setdefault(example.label(head) or "", []).append(i)
    held: list[int] = []
    for label in sorted(by_label):
        rows = by_label[label]
        n = int(round(fraction * len(rows)))
        if len(rows) >= 2:
            n = min(max(n, 1), len(rows) - 1)
        held.extend(rng.permutation(rows)[:n].tolist())
    held_set = set(held)
    return [e for i, e in enumerate(examples) if i not in held_set], [examples[i] for i in sorted(held_set)]


def per_label_sample(examples: list[Example], head: str, per_label: int, seed: int) -> list[Example]:
    """At most `per_label` examples of each label (few-shot training sets)."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, example in enumerate(examples):
        by_label.setdefault(example.label(head) or "", []).append(i)
    keep = sorted(i for label in sorted(by_label) for i in rng.permutation(by_label[label])[:per_label].tolist())
    return [examples[i] for i in keep]


def data_hash(examples: list[Example]) -> str:
    """A short hash of the texts and labels, saved with a model to say what it learned from."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps([example.text, example.labels], ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def label_counts(examples: list[Example], head: str) -> Counter:
    """How many examples carry each label of `head`."""
    return Counter(e.label(head) for e in examples if e.label(head) is not None)


def from_messages(messages) -> list[Example]:
    """The knowledge's labelled messages (intent and sentiment each), masked as the router will see them."""
    from assistant.pii import mask

    return [Example(mask(m.text).text, (("intent", m.intent), ("sentiment", m.sentiment))) for m in messages]
