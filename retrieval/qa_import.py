"""A shop's own Q&A export (CSV or JSONL) read as FAQ entries, streamed, every problem with its line.

Columns: `question` and `answer` (required), `id`, `intent` and `lang` (optional). Without an id, an
entry's id is derived from its question, so importing the same file twice changes nothing. Without a
lang, the question's language is detected. An intent that intents.yaml does not define is dropped
(the entry is kept without intent: it still answers, it only gets no intent prior).

Answers are historical replies, so braces in them are literal text, except placeholders the shop
defines ({order_id}, {amount} and the shop.yaml facts); a shop fact's value written out in an answer
(the support e-mail, say) becomes its placeholder, so the answer follows shop.yaml when that changes.
"""

from __future__ import annotations

import csv
import hashlib
import re
import string
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.errors import KnowledgeError
from retrieval.faq_index import question_key
from retrieval.knowledge import FaqEntry, Problem, jsonl_objects
from retrieval.language import LANGUAGES, detect_language

FORMATS = (".csv", ".jsonl")
MAX_QUESTION_CHARS = 2_000
MAX_ANSWER_CHARS = 10_000
_SPACED_DIGITS = re.compile(r"(?<=\d)\s{2,}(?=\d)|(?<=\d)[^\S ]+(?=\d)")
# Shorter fact values ("30" days) are too common in text to stand for the fact.
MIN_FACT_CHARS = 6


@dataclass
class ImportNotes:
    """What reading changed in the rows (counted, so the command can say it)."""

    rows: int = 0
    unknown_intents: dict[str, int] = field(default_factory=dict)
    literal_braces: int = 0
    facts_placed: int = 0


@dataclass(frozen=True)
class QaFile:
    """A Q&A export and how to turn its rows into entries.

    Args:
        path: a .csv (header row, UTF-8, Excel's BOM allowed) or .jsonl file.
        intents: the intents the shop defines (others are dropped from rows).
        facts: placeholder name -> the values it has (per language) in shop.yaml.
        clean: applied to questions and answers before anything else (the caller's PII masking).

    Example:
        >>> qa = QaFile(Path("export.csv"), intents={"order_status"}, facts={"support_email": ["help@shop.cn"]})
        >>> qa.check()          # raises KnowledgeError listing every bad row
        >>> for entry in qa.entries(notes): ...
    """

    path: Path
    intents: frozenset[str] = frozenset()
    facts: dict[str, list[str]] = field(default_factory=dict)
    clean: Callable[[str], str] | None = None
    placeholders: frozenset[str] = frozenset({"order_id", "amount"})
    # Ids that belong to the knowledge folder's FAQ: a row may not replace one (edit faq/ instead).
    reserved_ids: frozenset[str] = frozenset()

    def check(self) -> int:
        """Read the whole file once; the number of rows, or KnowledgeError listing every problem."""
        problems: list[Problem] = []
        count = sum(1 for _ in self._rows(problems))
        if problems:
            shown = "\n".join(f"  {p}" for p in problems[:20])
            more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
            raise KnowledgeError(f"{self.path} has {len(problems)} problem(s), nothing was imported; "
                                 f"fix them and run the command again:\n{shown}{more}", problems)
        if count == 0:
            raise KnowledgeError(f"{self.path} has no Q&A rows: expected a `question` and an `answer` per row")
        return count

    def entries(self, notes: ImportNotes | None = None) -> Iterator[FaqEntry]:
        """The file's rows as entries, one at a time (memory does not grow with the file)."""
        notes = notes if notes is not None else ImportNotes()
        problems: list[Problem] = []
        for _, row in self._rows(problems):
            notes.rows += 1
            clean = self.clean or (lambda text: text)
            # Spacing first: "138\n0013  8000" must look like the phone number it is when it is masked.
            question = clean(" ".join(row["question"].split()))
            answer = self._answer(row["answer"].strip(), clean, notes)
            lang = row.get("lang") or detect_language(question)
            intent = row.get("intent") or ""
            if intent and intent not in self.intents:
                notes.unknown_intents[intent] = notes.unknown_intents.get(intent, 0) + 1
                intent = ""
            entry_id = row.get("id") or "qa-" + hashlib.sha1(f"{lang}\0{question_key(question)}".encode()).hexdigest()[:16]
            yield FaqEntry(entry_id, intent, lang, question, answer, source=self.path.name)
        if problems:  # the file changed since `check`
            raise KnowledgeError(f"{self.path} changed while it was read: {problems[0]}", problems)

    def _answer(self, answer: str, clean: Callable[[str], str], notes: ImportNotes) -> str:
        # Facts first: the shop's own phone number or e-mail is not a customer's, and must survive `clean`.
        answer = answer.replace("\0", "").replace("\1", "")
        # Digits split by line breaks or runs of spaces ("138\n0013  8000") are masked as the number they are.
        answer = _SPACED_DIGITS.sub(" ", answer)
        for name, values in self.facts.items():
            for value in sorted(values, key=len, reverse=True):
                if len(value) >= MIN_FACT_CHARS and value in answer:
                    answer = answer.replace(value, "\0" + name + "\1")
                    notes.facts_placed += 1
        answer = clean(answer)
        allowed = self.placeholders | set(self.facts)
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(answer) if f is not None}
        except ValueError:
            names = {None}
        if not names <= allowed:
            answer = answer.replace("{", "{{").replace("}", "}}")
            notes.literal_braces += 1
        return answer.replace("\0", "{").replace("\1", "}")

    def _rows(self, problems: list[Problem]) -> Iterator[tuple[int, dict]]:
        suffix = self.path.suffix.lower()
        if suffix not in FORMATS:
            problems.append(Problem(str(self.path), 0, f"expected a {' or '.join(FORMATS)} file, got {suffix or 'no extension'!r}"))
            return
        if not self.path.is_file():
            problems.append(Problem(str(self.path), 0, "no such file"))
            return
        reader = self._csv_rows if suffix == ".csv" else self._jsonl_rows
        ids: dict[str, int] = {}
        try:
            for number, row in reader(problems):
                if not self._valid(row, number, problems):
                    continue
                entry_id = row.get("id")
                if entry_id and entry_id in self.reserved_ids:
                    problems.append(Problem(str(self.path), number, f"id {entry_id!r} is an entry of the knowledge "
                                                                    "folder's faq/: edit it there, or give this row another id"))
                    continue
                if entry_id and entry_id in ids:
                    problems.append(Problem(str(self.path), number, f"id {entry_id!r} was already used on line "
                                                                    f"{ids[entry_id]}: every row needs its own id"))
                    continue
                if entry_id:
                    ids[entry_id] = number
                yield number, row
        except UnicodeDecodeError as exc:
            problems.append(Problem(str(self.path), 0, f"not UTF-8 text ({exc.reason} at byte {exc.start}): "
                                                       "save the export as UTF-8"))

    def _csv_rows(self, problems: list[Problem]) -> Iterator[tuple[int, dict]]:
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        with open(self.path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
            reader.fieldnames = header
            missing = [c for c in ("question", "answer") if c not in header]
            if missing:
                hint = ("; it looks separated by ';' or tabs: save it as comma-separated CSV"
                        if len(header) == 1 and any(sep in header[0] for sep in ";\t") else
                        "; the first row must name the columns: question,answer[,id,intent,lang]")
                problems.append(Problem(str(self.path), 1, f"the header has no {' and no '.join(missing)} column "
                                                           f"(found {header or 'nothing'}){hint}"))
                return
            for row in reader:
                yield reader.line_num, row

    def _jsonl_rows(self, problems: list[Problem]) -> Iterator[tuple[int, dict]]:
        return jsonl_objects(self.path, problems)

    def _valid(self, row: dict, number: int, problems: list[Problem]) -> bool:
        where = (str(self.path), number)
        for column, limit in (("question", MAX_QUESTION_CHARS), ("answer", MAX_ANSWER_CHARS)):
            value = row.get(column)
            if value is not None and not isinstance(value, str):
                problems.append(Problem(*where, f"`{column}` must be text, got {type(value).__name__}"))
                return False
            if not value or not value.strip():
                problems.append(Problem(*where, f"`{column}` is missing or empty"))
                return False
            if len(value) > limit:
                problems.append(Problem(*where, f"`{column}` has {len(value)} characters, at most {limit} are "
                                                f"allowed: shorten it"))
                return False
        if isinstance(row.get("id"), int) and not isinstance(row["id"], bool):
            row["id"] = str(row["id"])  # JSON exports number their rows
        for column in ("id", "intent", "lang"):
            if row.get(column) is not None and not isinstance(row[column], str):
                problems.append(Problem(*where, f"`{column}` must be text, got {type(row[column]).__name__}"))
                return False
            if isinstance(row.get(column), str):
                row[column] = row[column].strip()
        if row.get("lang") and row["lang"] not in LANGUAGES:
            problems.append(Problem(*where, f"lang {row['lang']!r} is not one of {list(LANGUAGES)} (or leave it empty)"))
            return False
        return True
