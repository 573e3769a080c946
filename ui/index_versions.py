"""New versions of the FAQ index: built from the knowledge folder, synced with it, or grown from a shop's
Q&A export. Every change writes a new registry version beside the active one and then activates it,
so a running server keeps answering from the old version until the new one is complete."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant import desk, pii, store
from assistant.errors import InvalidInput, ModelMissing
from assistant.models import embedder_from_settings, index_params
from assistant.registry import Registry
from assistant.settings import Settings
from retrieval.embedder import Embedder
from retrieval.errors import IndexMismatchError
from retrieval.faq_index import ENTRIES_FILE, KNOWLEDGE_SOURCE, FaqIndex, IngestReport, read_entries
from retrieval.index import INDEX_TYPES, read_meta
from retrieval.knowledge import ENTITY_PLACEHOLDERS, Knowledge
from retrieval.qa_import import ImportNotes, QaFile
from ui.locks import exclusive

Log = Callable[[str], None]


def index_data_hash(knowledge: Knowledge) -> str:
    return knowledge.content_hash("faq")


def build_index_version(settings: Settings, knowledge: Knowledge, *, embedder: Embedder | None = None,
                        log: Log = print, progress: bool = True) -> str:
    """Embed the knowledge's FAQ, and the entries imported into the active index, into a new active version."""
    embedder = embedder or embedder_from_settings(settings)

    def build(_active: FaqIndex | None) -> FaqIndex:
        # Read under the change lock: an import or removal that finished meanwhile is included.
        curated = {e.id for e in knowledge.faq}
        imported = {e.id: e for e in _imported_entries(Registry(settings.models_dir), log)}  # the last per id wins
        shadowed = sorted(set(imported) & curated)
        if shadowed:
            log(f"the knowledge folder's faq/ now has the id(s) {', '.join(shadowed[:5])} of imported entries: "
                "its entries replace them")
        entries = list(knowledge.faq) + [e for i, e in imported.items() if i not in curated]
        log(f"Indexing {len(entries)} FAQ entries ({len(entries) - len(knowledge.faq)} of them imported) ...")
        return FaqIndex.build(entries, embedder, knowledge_hash=index_data_hash(knowledge),
                              params=index_params(settings), progress=progress)

    return _new_version(settings, build, {"change": "build"}, embedder=None, log=log)[0]


def sync_index_version(settings: Settings, knowledge: Knowledge, *, embedder: Embedder | None = None,
                       log: Log = print, progress: bool = True) -> tuple[str, IngestReport]:
    """A new active version whose knowledge entries are the knowledge folder's FAQ (only changes embedded)."""
    embedder = embedder or embedder_from_settings(settings)
    report = IngestReport()

    def sync(active: FaqIndex | None) -> FaqIndex:
        nonlocal report
        report = active.sync_knowledge(knowledge.faq, embedder, knowledge_hash=index_data_hash(knowledge),
                                       progress=progress)
        log(f"Knowledge FAQ synced: {report.added} added, {report.updated} changed, {report.removed} removed")
        return active

    version, _ = _new_version(settings, sync, {"change": "sync"}, embedder=embedder, log=log)
    return version, report


def import_qa_version(settings: Settings, knowledge: Knowledge, path: Path, *, embedder: Embedder | None = None,
                      intents: list[str] | None = None, log: Log = print,
                      progress: bool = True) -> tuple[str, IngestReport, ImportNotes, FaqIndex]:
    """Add a Q&A export (CSV or JSONL) to the active index as a new active version (returned with it).

    Rows are checked first (nothing is imported from a file with problems), masked for personal data,
    then embedded in batches; near-duplicate questions are skipped (`dedup_threshold`). Intents other
    than `intents` (default: the knowledge folder's) are dropped from the rows and reported.
    """
    facts: dict[str, list[str]] = {name: sorted(set(values.values())) for name, values in knowledge.shop.facts.items()}
    qa = QaFile(Path(path), intents=frozenset(intents or knowledge.intent_names), facts=facts,
                clean=lambda t: pii.mask(t).text,
                placeholders=frozenset(ENTITY_PLACEHOLDERS), reserved_ids=frozenset(e.id for e in knowledge.faq))
    rows = qa.check()
    embedder = embedder or embedder_from_settings(settings)
    notes = ImportNotes()
    report = IngestReport()
    log(f"Importing {rows} Q&A rows from {path} ...")

    def add(active: FaqIndex | None) -> FaqIndex:
        nonlocal report
        report = active.upsert(qa.entries(notes), embedder, dedup_threshold=settings.dedup_threshold,
                               progress=progress, total=rows)
        return active

    version, faq = _new_version(settings, add, {"change": f"add {Path(path).name}"}, embedder=embedder, log=log)
    return version, report, notes, faq


APPROVED_FILE = "approved-answers.jsonl"


def add_approved_answers(settings: Settings, knowledge: Knowledge, engine, *, embedder: Embedder | None = None,
                         log: Log = print, progress: bool = True) -> dict:
    """Add the answers agents approved since the last turn to the FAQ index, as one new active version.

    They go through the Q&A import (facts become placeholders, personal data masked, near-duplicates
    skipped) as entries `agent-<id>` of the source `approved-answers.jsonl`, with the intents agents
    introduced allowed. Marked added afterwards; a run killed in between adds them again next time,
    which updates the same entries.
    """
    from finetune.datasets import write_jsonl

    with store.transaction(engine) as session:
        pending = desk.answers_to_add(session)
        intents = desk.known_intents(session, knowledge.intent_names)
    if not pending:
        return {"added": 0, "version": None}
    path = settings.home / "datasets" / APPROVED_FILE
    write_jsonl(path, ({"id": a.entry_id, "question": a.question, "answer": a.answer, "intent": a.intent or "",
                        **({"lang": a.lang} if a.lang else {})} for a in pending))
    version, report, _, faq = import_qa_version(settings, knowledge, path, embedder=embedder, intents=intents,
                                                log=log, progress=progress)
    indexed = {a.entry_id for a in pending if faq.get(a.entry_id) is not None}
    repeats = dict(report.duplicates)  # question -> the entry it repeats
    skipped = [{"approved": a.id, "question": a.question, "repeats": repeats.get(a.question)}
               for a in pending if a.entry_id not in indexed]
    for approved in pending:  # a near-duplicate of an existing question was skipped: no entry of its own
        approved.entry_id = approved.entry_id if approved.entry_id in indexed else None
    with store.transaction(engine) as session:
        marked = desk.mark_added(session, added=pending, index_version=version)
    log(f"Approved answers: {report.added} added and {report.updated} updated in index/{version}")
    for row in skipped:
        log(f"  approved answer {row['approved']} not added: its question {row['question'][:60]!r} repeats "
            f"entry {row['repeats'] or 'of the index'} (edit that entry's answer instead)")
    return {"added": report.added, "updated": report.updated, "skipped": skipped, "marked": marked,
            "version": f"index/{version}"}


def index_fits(settings: Settings, knowledge: Knowledge, embedder: Embedder) -> tuple[str | None, bool]:
    """(None, _) when the active index fits; else (why, whether syncing it with the knowledge is enough)."""
    registry = Registry(settings.models_dir)
    try:
        folder = registry.active_folder("index")
        meta = read_meta(folder)
    except ModelMissing:
        return "no index yet", False
    except IndexMismatchError as exc:
        return str(exc), False
    if "next_key" not in meta or meta.get("index_type") not in INDEX_TYPES:
        return "it was built by an older version of the assistant", False
    if meta.get("embedder") != embedder.name:
        return f"it was built with embedder {meta.get('embedder')!r}, the settings say {embedder.name!r}", False
    forced = index_params(settings).kind
    if forced != "auto" and meta.get("index_type") != forced:
        return f"it is of type {meta.get('index_type')!r}, the settings ask for {forced!r}", False
    if not (folder / ENTRIES_FILE).is_file():
        return f"{folder / ENTRIES_FILE} is missing", False
    if meta.get("knowledge_hash") != index_data_hash(knowledge):
        return "the FAQ changed", True
    return None, False


def _new_version(settings: Settings, change: Callable[[FaqIndex | None], FaqIndex], info: dict, *,
                 embedder: Embedder | None, log: Log = print) -> tuple[str, FaqIndex]:
    """Apply `change` to the active index (opened when `embedder` is given) and register the result.

    One change at a time per home: a second one waits, then starts from the version the first made
    (so an `index remove` during a long `index add` is not undone by it).
    """
    registry = Registry(settings.models_dir)
    waiting = "Another index change is running in this home; waiting for it to finish ..."
    with exclusive(settings.models_dir / "index" / ".change.lock", when_busy=lambda: log(waiting)):
        active = FaqIndex.open(registry.active_folder("index"), embedder, index_params(settings)) if embedder else None
        faq = change(active)
        staging = registry.staging("index")
        try:
            faq.write(staging)
        except BaseException:
            registry.discard(staging)
            raise
        version = registry.register("index", staging, {**info, "data_hash": faq.meta.get("knowledge_hash"),
                                                       "count": faq.count, "index_type": faq.index.kind}, activate=True)
    return version, faq


def _imported_entries(registry: Registry, log: Log) -> list:
    """The entries a shop imported into the active index (kept across rebuilds; re-embedded there)."""
    try:
        folder = registry.active_folder("index")
        if "next_key" not in read_meta(folder):
            return []  # the older format had no imported entries
        entries = read_entries(folder).values()
    except (ModelMissing, IndexMismatchError) as exc:
        if registry.active_version("index"):
            log(f"warning: the active index cannot be read ({exc}); entries imported into it are not carried "
                f"over (earlier versions stay under {registry.root / 'index'})")
        return []
    return [e for e in entries if e.source != KNOWLEDGE_SOURCE]


def remove_entries_version(settings: Settings, entry_ids: list[str], *, embedder: Embedder | None = None) -> tuple[str, int]:
    """A new active version without the given imported entries (ids); (version, how many were found).

    Entries of the knowledge folder are refused: the next start would sync them back.
    """
    embedder = embedder or embedder_from_settings(settings)
    removed = 0

    def remove(active: FaqIndex | None) -> FaqIndex:
        nonlocal removed
        curated = sorted(i for i in set(entry_ids) if (e := active.get(i)) is not None and e.source == KNOWLEDGE_SOURCE)
        if curated:
            raise InvalidInput(f"{', '.join(curated)} come(s) from the knowledge folder's faq/: delete them there "
                               "(the next start updates the index)")
        removed = active.remove(entry_ids)
        return active

    version, _ = _new_version(settings, remove, {"change": f"remove {len(entry_ids)} id(s)"}, embedder=embedder)
    return version, removed
