"""The shop's knowledge folder: load it, or report every problem in it with file and line.

Layout (documented for shops in knowledge/README.md):
    intents.yaml          the intents, with descriptions and whether they escalate
    shop.yaml             the shop's name, order-id pattern and facts used as answer placeholders
    faq/*.jsonl           historical Q&A: {"id", "intent", "lang", "question", "answer"}
    messages/*.jsonl      labelled customer messages: {"text", "intent", "sentiment", "lang"}
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from retrieval.errors import KnowledgeError
from retrieval.language import LANGUAGES

SENTIMENTS = ("negative", "neutral", "positive")
# Placeholders an answer may use besides the shop's facts: filled from the customer's message.
ENTITY_PLACEHOLDERS = ("order_id", "amount")


@dataclass(frozen=True)
class Intent:
    name: str
    description: str
    description_zh: str
    escalate: bool


@dataclass(frozen=True)
class FaqEntry:
    id: str
    intent: str  # "" when a shop's imported Q&A row names none
    lang: str
    question: str
    answer: str
    # "knowledge" for the knowledge folder's faq/, else the file it was imported from (`assistant index add`).
    source: str = "knowledge"


@dataclass(frozen=True)
class LabelledMessage:
    text: str
    intent: str
    sentiment: str
    lang: str


@dataclass(frozen=True)
class Shop:
    name: dict[str, str]
    order_id_pattern: str
    facts: dict[str, dict[str, str]]
    # product name -> the words customers call it by (any language), for product mentions
    products: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def fact_values(self, lang: str) -> dict[str, str]:
        """The facts in one language, ready for `str.format_map`."""
        return {key: values[lang] for key, values in self.facts.items()}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Knowledge:
    folder: Path
    intents: tuple[Intent, ...]
    shop: Shop
    faq: tuple[FaqEntry, ...]
    messages: tuple[LabelledMessage, ...]
    # (path relative to the folder, SHA-256 of its bytes) of every file, as read when loading.
    _digests: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def intent_names(self) -> list[str]:
        return [intent.name for intent in self.intents]

    def intent(self, name: str) -> Intent | None:
        return next((i for i in self.intents if i.name == name), None)

    def entry(self, entry_id: str) -> FaqEntry | None:
        return next((e for e in self.faq if e.id == entry_id), None)

    def content_hash(self, *parts: str) -> str:
        """SHA-256 over the given parts' files ("faq", "messages", "intents", "shop"); all when none."""
        wanted = parts or ("intents", "shop", "faq", "messages")
        digest = hashlib.sha256()
        for rel, file_digest in self._digests:
            if rel.split("/")[0].split(".")[0] in wanted:
                digest.update(f"{rel}\0{file_digest}\0".encode())
        return digest.hexdigest()


def load_knowledge(folder: Path) -> Knowledge:
    """Load a knowledge folder, or raise KnowledgeError listing every problem found."""
    knowledge, problems = _read(Path(folder))
    if problems:
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise KnowledgeError(
            f"the knowledge folder {folder} has {len(problems)} problem(s); fix them "
            f"(`assistant knowledge validate {folder}` lists them all):\n{shown}{more}",
            problems,
        )
    return knowledge


def validate_knowledge(folder: Path) -> list[Problem]:
    """Every problem of a knowledge folder, with file and line; empty when it is fine."""
    return _read(Path(folder))[1]


def _read(folder: Path) -> tuple[Knowledge | None, list[Problem]]:
    problems: list[Problem] = []
    if not folder.is_dir():
        return None, [Problem(str(folder), 0, "is not a folder: expected intents.yaml, shop.yaml, faq/, messages/")]
    intents = _read_intents(folder / "intents.yaml", problems)
    shop = _read_shop(folder / "shop.yaml", problems)
    # None when intents.yaml itself is broken: its problem is reported, and every row would only repeat it.
    names = {i.name for i in intents} or None
    faq_files = sorted((folder / "faq").glob("*.jsonl"))
    message_files = sorted((folder / "messages").glob("*.jsonl"))
    if not faq_files:
        problems.append(Problem(str(folder / "faq"), 0, "no *.jsonl files: the retriever needs Q&A entries"))
    if not message_files:
        problems.append(Problem(str(folder / "messages"), 0, "no *.jsonl files: the router needs labelled messages"))
    allowed = set(ENTITY_PLACEHOLDERS) | set(shop.facts if shop else ())
    faq = _read_faq(faq_files, names, allowed, problems)
    messages = _read_messages(message_files, names, problems)
    if names and messages:
        counts = {n: 0 for n in names}
        for message in messages:
            counts[message.intent] = counts.get(message.intent, 0) + 1
        for name, count in counts.items():
            if count < 2:
                problems.append(Problem(str(folder / "messages"), 0,
                                        f"intent '{name}' has {count} labelled message(s): the router needs at least 2"))
    if problems:
        return None, problems
    files = [folder / "intents.yaml", folder / "shop.yaml", *faq_files, *message_files]
    digests = tuple((f.relative_to(folder).as_posix(), hashlib.sha256(f.read_bytes()).hexdigest()) for f in files)
    return Knowledge(folder, tuple(intents), shop, tuple(faq), tuple(messages), digests), []


def _load_yaml(path: Path, problems: list[Problem]):
    if not path.is_file():
        problems.append(Problem(str(path), 0, "missing"))
        return None
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
        if node is None:
            problems.append(Problem(str(path), 1, "empty: see knowledge/README.md for what it holds"))
        return node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.append(Problem(str(path), (mark.line + 1) if mark else 0, f"not valid YAML: {exc.problem}"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(Problem(str(path), 0, f"not readable YAML: {exc}"))
    return None


def _read_intents(path: Path, problems: list[Problem]) -> list[Intent]:
    node = _load_yaml(path, problems)
    if node is None:
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("intents"), list):
        problems.append(Problem(str(path), 1, "expected a mapping with a list under `intents:`"))
        return []
    seq = next(v for k, v in node.value if k.value == "intents")
    intents: list[Intent] = []
    for item_node, item in zip(seq.value, data["intents"]):
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict):
            problems.append(Problem(str(path), line, "an intent must be a mapping with name, description, escalate"))
            continue
        name = item.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name or ""):
            problems.append(Problem(str(path), line, f"intent name {name!r} must be lower_snake_case"))
            continue
        if name in {i.name for i in intents}:
            problems.append(Problem(str(path), line, f"intent '{name}' is defined twice"))
            continue
        if not isinstance(item.get("description"), str) or not item["description"].strip():
            problems.append(Problem(str(path), line, f"intent '{name}' needs a description"))
        if not isinstance(item.get("escalate", False), bool):
            problems.append(Problem(str(path), line, f"intent '{name}': escalate must be true or false"))
        intents.append(Intent(name, str(item.get("description", "")), str(item.get("description_zh", "")),
                              bool(item.get("escalate", False))))
    if not intents:
        problems.append(Problem(str(path), 1, "no intents defined"))
    return intents


def _read_shop(path: Path, problems: list[Problem]) -> Shop | None:
    if _load_yaml(path, problems) is None:
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        problems.append(Problem(str(path), 1, "expected a mapping with name, order_id_pattern and facts"))
        return None
    before = len(problems)
    name = _per_language(data.get("name"), "name", path, problems)
    pattern = data.get("order_id_pattern", r"[A-Z]{2}\d{8}")
    try:
        re.compile(str(pattern))
    except re.error as exc:
        problems.append(Problem(str(path), 0, f"order_id_pattern {pattern!r} is not a valid regular expression: {exc}"))
    facts = {}
    if not isinstance(data.get("facts") or {}, dict):
        problems.append(Problem(str(path), 0, "facts must be a mapping of fact names to values"))
        return None
    for key, value in (data.get("facts") or {}).items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(key)):
            problems.append(Problem(str(path), 0, f"fact name {key!r} must be lower_snake_case"))
        elif key in ENTITY_PLACEHOLDERS:
            problems.append(Problem(str(path), 0, f"fact name '{key}' is reserved for a value from the message"))
        else:
            facts[key] = _per_language(value, f"facts.{key}", path, problems)
    products = _read_products(data.get("products"), path, problems)
    if len(problems) > before:
        return None
    return Shop(name, str(pattern), facts, products)


def _read_products(value, path: Path, problems: list[Problem]) -> dict[str, tuple[str, ...]]:
    """`products: [{name: ..., aliases: [...]}, ...]` as {name: (name, *aliases)}."""
    products: dict[str, tuple[str, ...]] = {}
    if value is None:
        return products
    if not isinstance(value, list):
        problems.append(Problem(str(path), 0, "products must be a list of {name: ..., aliases: [...]}"))
        return products
    for number, item in enumerate(value, 1):
        name = item.get("name") if isinstance(item, dict) else None
        aliases = item.get("aliases", []) if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip() or not isinstance(aliases, list) \
                or not all(isinstance(a, str) and a.strip() for a in aliases):
            problems.append(Problem(str(path), 0, f"products item {number} must be {{name: text, aliases: [text, ...]}}"))
        elif name.strip() in products:
            problems.append(Problem(str(path), 0, f"product {name.strip()!r} is listed twice"))
        else:
            products[name.strip()] = tuple(dict.fromkeys([name.strip(), *(a.strip() for a in aliases)]))
    return products


def _per_language(value, what: str, path: Path, problems: list[Problem]) -> dict[str, str]:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return {lang: str(value) for lang in LANGUAGES}
    if isinstance(value, dict) and all(isinstance(value.get(lang), (str, int, float)) for lang in LANGUAGES):
        return {lang: str(value[lang]) for lang in LANGUAGES}
    problems.append(Problem(str(path), 0, f"{what} must be a string or a mapping with {' and '.join(LANGUAGES)}"))
    return {}


def jsonl_objects(path: Path, problems: list[Problem]):
    """(line number, object) for each JSON object line of a UTF-8 JSONL file, streamed; every other line
    (broken JSON, not an object, undecodable bytes) becomes a problem with its line."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw)
                except json.JSONDecodeError as exc:
                    problems.append(Problem(str(path), number, f"not valid JSON: {exc.msg} at column {exc.colno}"))
                    continue
                if not isinstance(row, dict):
                    problems.append(Problem(str(path), number, "expected a JSON object"))
                    continue
                yield number, row
    except UnicodeDecodeError as exc:
        problems.append(Problem(str(path), 0, f"not UTF-8 text: {exc}"))


def _jsonl_rows(path: Path, required: tuple[str, ...], problems: list[Problem]):
    for number, row in jsonl_objects(path, problems):
        missing = [k for k in required if not isinstance(row.get(k), str) or not row[k].strip()]
        if missing:
            problems.append(Problem(str(path), number, f"missing or empty field(s): {', '.join(missing)}"))
            continue
        yield number, row


def _read_faq(files: list[Path], intents: set[str] | None, allowed: set[str], problems: list[Problem]) -> list[FaqEntry]:
    entries: list[FaqEntry] = []
    seen: dict[str, str] = {}
    for path in files:
        for number, row in _jsonl_rows(path, ("id", "intent", "lang", "question", "answer"), problems):
            where = f"{path.name}:{number}"
            if row["id"] in seen:
                problems.append(Problem(str(path), number, f"id '{row['id']}' already used at {seen[row['id']]}"))
                continue
            if not _check_labels(row, intents, path, number, problems):
                continue
            try:
                fields = {f for _, f, _, _ in string.Formatter().parse(row["answer"]) if f is not None}
            except ValueError as exc:
                problems.append(Problem(str(path), number, f"answer has a broken placeholder ({exc}): "
                                                           "write {name}, and {{ }} for literal braces"))
                continue
            unknown = sorted(fields - allowed)
            if unknown:
                problems.append(Problem(str(path), number, f"unknown placeholder(s) {unknown}: use one of "
                                                           f"{sorted(allowed)} (shop.yaml facts or message values)"))
                continue
            seen[row["id"]] = where
            entries.append(FaqEntry(row["id"], row["intent"], row["lang"], row["question"].strip(),
                                    row["answer"].strip()))
    return entries


def _read_messages(files: list[Path], intents: set[str] | None, problems: list[Problem]) -> list[LabelledMessage]:
    messages: list[LabelledMessage] = []
    seen: dict[str, tuple[str, str, str]] = {}
    for path in files:
        for number, row in _jsonl_rows(path, ("text", "intent", "sentiment", "lang"), problems):
            if not _check_labels(row, intents, path, number, problems):
                continue
            if row["sentiment"] not in SENTIMENTS:
                problems.append(Problem(str(path), number, f"sentiment '{row['sentiment']}' is not one of {list(SENTIMENTS)}"))
                continue
            key = row["text"].strip()
            labels = (row["intent"], row["sentiment"])
            if key in seen and seen[key][:2] != labels:
                problems.append(Problem(str(path), number, f"the same text is labelled {seen[key][:2]} at {seen[key][2]}"))
                continue
            seen[key] = (*labels, f"{path.name}:{number}")
            messages.append(LabelledMessage(key, row["intent"], row["sentiment"], row["lang"]))
    return messages


def _check_labels(row: dict, intents: set[str] | None, path: Path, number: int, problems: list[Problem]) -> bool:
    if intents is not None and row["intent"] not in intents:
        problems.append(Problem(str(path), number, f"intent '{row['intent']}' is not in intents.yaml"))
        return False
    if row["lang"] not in LANGUAGES:
        problems.append(Problem(str(path), number, f"lang '{row['lang']}' is not one of {list(LANGUAGES)}"))
        return False
    return True
