"""`assistant train drafter`, orchestrated: the shop's Q&A and the agents' replies -> pairs -> a drafter
folder (a registry version, or a given folder), with its held-out test pairs beside it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session, select

from assistant import store
from assistant.models import embedder_from_settings
from assistant.registry import Registry
from assistant.settings import Settings
from assistant.tables import ApprovedAnswer
from finetune.args import DrafterTrainingArgs
from finetune.datasets import export, read_holdout, write_jsonl
from finetune.seq2seq import (DrafterExample, history_retriever, qa_examples, reply_examples, split_groups,
                              train_drafter)
from retrieval.faq_index import read_entries
from retrieval.knowledge import load_knowledge
from ui.bootstrap import ensure_ready
from ui.learning import holdout_path

Log = Callable[[str], None]
TEST_FILE = "drafter-test.jsonl"


def drafter_pairs(settings: Settings, *, test_fraction: float, seed: int, embedder=None,
                  log: Log = print) -> tuple[list[DrafterExample], list[DrafterExample]]:
    """(train, test) pairs: the active index's Q&A entries split by entry, and the store's agent replies
    split by the frozen holdout. Test entries are left out of the history their pairs retrieve from."""
    knowledge = load_knowledge(settings.knowledge_dir)
    embedder = embedder or embedder_from_settings(settings)
    entries = list(read_entries(Registry(settings.models_dir).active_folder("index")).values())
    engine = store.engine_for(settings)
    store.migrate(engine)
    frozen = read_holdout(holdout_path(settings))
    with Session(engine) as session:  # an answer agents approved in a held-out conversation stays held out
        approved_in = dict(session.exec(select(ApprovedAnswer.entry_id, ApprovedAnswer.conversation_id)).all())
    history, held = split_groups(entries, test_fraction, seed, salt="test", key=lambda entry: entry.id)
    held += [e for e in history if approved_in.get(e.id) in frozen]
    history = [e for e in history if approved_in.get(e.id) not in frozen]
    with tempfile.TemporaryDirectory(prefix="drafter-history-") as folder:
        retriever = history_retriever(history, embedder, Path(folder))
        train = qa_examples(history, retriever, knowledge.shop)
        test = qa_examples(held, retriever, knowledge.shop)
        data = export(engine, holdout=frozen)
        train += reply_examples(data.drafter_train, retriever, knowledge.shop)
        test += reply_examples(data.drafter_holdout, retriever, knowledge.shop)
    log(f"Drafter pairs: {len(train)} for training ({len(data.drafter_train)} agent replies), {len(test)} held out "
        f"({len(held)} Q&A entries, {len(data.drafter_holdout)} agent replies)")
    return train, test


def train_drafter_version(settings: Settings, encoder: Path, *, args: DrafterTrainingArgs, out: Path | None = None,
                          test_fraction: float = 0.15, embedder=None, log: Log = print,
                          progress: bool = True) -> tuple[dict, dict]:
    """Train a drafter; into `out`, or a new (inactive) registry version. Returns (where, metrics)."""
    ensure_ready(settings, embedder=embedder, log=log, progress=progress)
    train, test = drafter_pairs(settings, test_fraction=test_fraction, seed=args.seed, embedder=embedder, log=log)
    vocabulary = [m.text for m in load_knowledge(settings.knowledge_dir).messages]
    registry = Registry(settings.models_dir)
    folder = Path(out) if out is not None else registry.staging("drafter")
    try:
        metrics = train_drafter(train, encoder, folder, vocabulary=vocabulary, args=args, log=log, progress=progress)
        write_jsonl(folder / TEST_FILE, (e.as_row() for e in test))
    except BaseException:
        if out is None:
            registry.discard(folder)
        raise
    if out is not None:
        return {"folder": str(out)}, metrics
    version = registry.register("drafter", folder, {"change": "train drafter", "metrics": metrics,
                                                    "data_hash": metrics.get("data_hash")})
    return {"drafter": f"drafter/{version}"}, metrics
