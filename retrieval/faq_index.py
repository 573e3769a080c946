"""The shop's Q&A entries and their vectors as one folder: built once, then grown, updated and pruned.

An index folder holds `index.faiss` + `meta.json` (see retrieval/index.py) and `entries.jsonl`, one
entry per line with the int64 `key` its vector has in FAISS. Keys are never reused, so an entry can
be replaced (new key) or removed without touching the others, and without re-embedding anything else.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterable

import numpy as np
from tqdm.auto import tqdm

from retrieval.embedder import Embedder
from retrieval.errors import IndexMismatchError
from retrieval.files import atomic_folder
from retrieval.index import FaissIndex, IndexParams
from retrieval.knowledge import FaqEntry

ENTRIES_FILE = "entries.jsonl"
KNOWLEDGE_SOURCE = "knowledge"
_NOT_WORD = re.compile(r"[\W_]+")


def question_key(question: str) -> str:
    """What two questions share when they differ only in case, width, spacing or punctuation."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", question).casefold())


@dataclass
class IngestReport:
    """What one ingest did; `duplicates` pairs a skipped question with the entry id it repeats (the first
    `EXAMPLES` of them; `duplicate_count` counts all)."""

    EXAMPLES = 100

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    duplicate_count: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)

    def duplicate(self, question: str, entry_id: str) -> None:
        self.duplicate_count += 1
        if len(self.duplicates) < self.EXAMPLES:
            self.duplicates.append((question, entry_id))

    def as_dict(self) -> dict:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged, "removed": self.removed,
                "duplicates": self.duplicate_count}


class FaqIndex:
    """FAQ entries searchable by their questions' vectors.

    Args:
        index: the FAISS index; its ids are the entries' keys.
        entries: key -> entry.
        embedder_name: the embedder the vectors came from (checked when the folder is opened).

    Example:
        >>> faq = FaqIndex.build(knowledge.faq, embedder, knowledge_hash=h)
        >>> report = faq.upsert(imported_entries, embedder, dedup_threshold=0.99)
        >>> faq.save(folder)
    """

    def __init__(self, index: FaissIndex, entries: dict[int, FaqEntry]):
        self.index = index
        self._entries = dict(entries)
        self._key_of = {entry.id: key for key, entry in self._entries.items()}
        if len(self._key_of) != len(self._entries):
            seen: set[str] = set()
            twice = next(e.id for e in self._entries.values() if e.id in seen or seen.add(e.id))
            raise IndexMismatchError(f"entry id {twice!r} appears more than once: every entry needs its own id")
        self._question_keys: dict[tuple[str, str], str] | None = None

    # -- building and opening --------------------------------------------------------------------------------

    @classmethod
    def build(cls, entries: Iterable[FaqEntry], embedder: Embedder, *, knowledge_hash: str,
              params: IndexParams | None = None, progress: bool = False, batch_size: int = 64) -> "FaqIndex":
        """Embed every entry's question into a new index of the type `params` choose for their number."""
        entries = list(entries)
        vectors = embed_questions(entries, embedder, progress=progress, batch_size=batch_size)
        index = FaissIndex.build(vectors, np.arange(len(entries)), params=params, meta={
            "embedder": embedder.name, "knowledge_hash": knowledge_hash, "next_key": len(entries)})
        return cls(index, dict(enumerate(entries)))

    @classmethod
    def open(cls, folder: Path, embedder: Embedder | None = None, params: IndexParams | None = None) -> "FaqIndex":
        """A saved folder; refused when its embedder, dimension or index type differ from the settings'."""
        folder = Path(folder)
        expect = {"embedder": embedder.name, "dimension": embedder.dim} if embedder is not None else None
        index = FaissIndex.load(folder, expect=expect, params=params)
        entries = read_entries(folder)
        if len(entries) != index.count:
            raise IndexMismatchError(f"{folder / ENTRIES_FILE} has {len(entries)} entries, the index {index.count}: "
                                     "run `assistant index build`")
        return cls(index, entries)

    def save(self, folder: Path) -> None:
        """Write the folder atomically (index, meta.json, entries.jsonl)."""
        with atomic_folder(folder) as tmp:
            self.write(tmp)

    def write(self, folder: Path) -> None:
        """Write the folder's files into an existing (staging) folder."""
        self.index.write(folder)
        with open(folder / ENTRIES_FILE, "w", encoding="utf-8") as out:
            for key in sorted(self._entries):
                out.write(json.dumps({"key": key, **asdict(self._entries[key])}, ensure_ascii=False) + "\n")

    # -- reading -----------------------------------------------------------------------------------------------

    @property
    def meta(self) -> dict:
        return self.index.meta

    @property
    def count(self) -> int:
        return len(self._entries)

    def entries(self) -> list[FaqEntry]:
        """Every entry, in key order (oldest first)."""
        return [self._entries[key] for key in sorted(self._entries)]

    def keyed(self) -> tuple[np.ndarray, list[FaqEntry]]:
        """(keys, entries) in key order: row i of a dense score array belongs to entries[i]."""
        keys = np.array(sorted(self._entries), dtype=np.int64)
        return keys, [self._entries[int(k)] for k in keys]

    def get(self, entry_id: str) -> FaqEntry | None:
        key = self._key_of.get(entry_id)
        return None if key is None else self._entries[key]

    def entry_at(self, key: int) -> FaqEntry:
        return self._entries[int(key)]

    # -- changing ----------------------------------------------------------------------------------------------

    def upsert(self, entries: Iterable[FaqEntry], embedder: Embedder, *, dedup: bool = True,
               dedup_threshold: float | None = None, batch_size: int = 256, progress: bool = False,
               total: int | None = None) -> IngestReport:
        """Add new entries and replace changed ones (same id), in batches; skip near-duplicate questions.

        A new entry is a duplicate when its question equals an entry's question of the same language up
        to case, width, spacing and punctuation, or, with `dedup_threshold`, when its vector's cosine
        with such an entry's (already indexed, or earlier in the same batch) reaches the threshold.
        The first one kept wins; the report lists each skipped question with the id it repeats.
        `dedup=False` keeps every entry (the curated knowledge folder's).
        """
        report = IngestReport()
        bar = tqdm(total=total, unit="entry", desc="Indexing", disable=not progress)
        batch: list[FaqEntry] = []
        for entry in entries:
            batch.append(entry)
            if len(batch) >= batch_size:
                self._upsert_batch(batch, embedder, dedup, dedup_threshold, report)
                bar.update(len(batch))
                batch = []
        if batch:
            self._upsert_batch(batch, embedder, dedup, dedup_threshold, report)
            bar.update(len(batch))
        bar.close()
        return report

    def remove(self, entry_ids: Iterable[str]) -> int:
        """Remove entries by id; returns how many existed."""
        keys = [self._key_of[i] for i in set(entry_ids) if i in self._key_of]
        self.index.remove(keys)
        for key in keys:
            entry = self._entries.pop(key)
            del self._key_of[entry.id]
        self._question_keys = None
        return len(keys)

    def sync_knowledge(self, entries: Iterable[FaqEntry], embedder: Embedder, *, knowledge_hash: str,
                       progress: bool = False) -> IngestReport:
        """Make the knowledge folder's entries those given (added, changed, removed); imported ones stay."""
        wanted = {e.id: replace(e, source=KNOWLEDGE_SOURCE) for e in entries}
        gone = [e.id for e in self._entries.values() if e.source == KNOWLEDGE_SOURCE and e.id not in wanted]
        removed = self.remove(gone)
        report = self.upsert(wanted.values(), embedder, dedup=False, progress=progress, total=len(wanted))
        report.removed = removed
        self.index.meta["knowledge_hash"] = knowledge_hash
        return report

    def _upsert_batch(self, batch: list[FaqEntry], embedder: Embedder, dedup: bool, dedup_threshold: float | None,
                      report: IngestReport) -> None:
        if self._question_keys is None:
            self._question_keys = {(e.lang, question_key(e.question)): e.id for e in self._entries.values()}
        seen = self._question_keys
        new: list[FaqEntry] = []
        replaced: list[FaqEntry] = []
        for entry in batch:
            old = self.get(entry.id)
            if old is not None:
                if old == entry:
                    report.unchanged += 1
                elif old.question == entry.question:  # same vector: only the entry changes
                    self._entries[self._key_of[entry.id]] = entry
                    report.updated += 1
                else:
                    replaced.append(entry)
                continue
            twin = seen.get((entry.lang, question_key(entry.question)))
            if twin is not None and dedup:
                report.duplicate(entry.question, twin)
                continue
            seen[(entry.lang, question_key(entry.question))] = entry.id
            new.append(entry)
        if replaced:
            for entry in replaced:
                old = self.get(entry.id)
                seen.pop((old.lang, question_key(old.question)), None)
                seen[(entry.lang, question_key(entry.question))] = entry.id
            self.remove(e.id for e in replaced)
            self._question_keys = seen
            self._add(replaced, embed_questions(replaced, embedder))
            report.updated += len(replaced)
        if not new:
            return
        vectors = embed_questions(new, embedder)
        if dedup and dedup_threshold is not None:
            keep = self._not_near_duplicates(new, vectors, dedup_threshold, report, embedder)
            for entry, kept in zip(new, keep):
                if not kept:
                    seen.pop((entry.lang, question_key(entry.question)), None)
            new, vectors = [e for e, k in zip(new, keep) if k], vectors[keep]
        self._add(new, vectors)
        report.added += len(new)

    def _not_near_duplicates(self, new: list[FaqEntry], vectors: np.ndarray, threshold: float,
                             report: IngestReport, embedder: Embedder) -> np.ndarray:
        """A keep-mask: False where an entry's question is within `threshold` of a kept one's (same language)."""
        keep = np.ones(len(new), dtype=bool)
        if self.count:
            scores, keys = self.index.search(vectors, k=8)
            for row, entry in enumerate(new):
                for score, key in zip(scores[row], keys[row]):
                    if key < 0 or score < threshold or self._entries[int(key)].lang != entry.lang:
                        continue
                    twin = self._entries[int(key)]
                    # IVF scores are approximate (quantised vectors): confirm with the exact cosine.
                    if self.index.kind.startswith("ivf") and \
                            float(embed_questions([twin], embedder)[0] @ vectors[row]) < threshold:
                        continue
                    keep[row] = False
                    report.duplicate(entry.question, twin.id)
                    break
        within = vectors @ vectors.T
        for row in range(len(new)):
            if not keep[row]:
                continue
            for earlier in range(row):
                if keep[earlier] and within[row, earlier] >= threshold and new[earlier].lang == new[row].lang:
                    keep[row] = False
                    report.duplicate(new[row].question, new[earlier].id)
                    break
        return keep

    def _add(self, entries: list[FaqEntry], vectors: np.ndarray) -> None:
        if not entries:
            return
        start = int(self.index.meta.get("next_key", max(self._entries, default=-1) + 1))
        keys = np.arange(start, start + len(entries), dtype=np.int64)
        self.index.add(vectors, keys)
        for key, entry in zip(keys, entries):
            self._entries[int(key)] = entry
            self._key_of[entry.id] = int(key)
        self.index.meta["next_key"] = start + len(entries)


def read_entries(folder: Path) -> dict[int, FaqEntry]:
    """key -> entry, from an index folder's entries.jsonl (without opening the FAISS index)."""
    path = Path(folder) / ENTRIES_FILE
    if not path.is_file():
        raise IndexMismatchError(f"{path} is missing: run `assistant index build`")
    entries: dict[int, FaqEntry] = {}
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    row = json.loads(line)
                    key = int(row.pop("key"))
                    entries[key] = FaqEntry(**row)
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IndexMismatchError(f"{path} is damaged ({exc}): run `assistant index build`") from exc
    return entries


def embed_questions(entries: list[FaqEntry], embedder: Embedder, *, progress: bool = False,
                    batch_size: int = 64) -> np.ndarray:
    """Unit vectors of the entries' questions (encoded as queries: a customer's message is matched to them)."""
    if not entries:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return embedder.encode([e.question for e in entries], kind="query", progress=progress, batch_size=batch_size)

