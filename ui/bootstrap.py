"""The first start: train the router and build the index when the registry has none that fit the
knowledge and the embedder; later starts reuse them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant import store
from assistant.errors import ModelMissing
from assistant.models import embedder_from_settings
from assistant.registry import Registry
from assistant.router import read_router_config
from assistant.settings import Settings
from finetune.args import ClassifierTrainingArgs, RouterTrainingArgs
from finetune.classifier import train_classifier
from finetune.data import Example, data_hash
from finetune.router import train_router
from retrieval.embedder import Embedder
from retrieval.knowledge import Knowledge, load_knowledge
from ui.index_versions import build_index_version, index_fits, sync_index_version
from ui.locks import exclusive

Log = Callable[[str], None]


def router_data_hash(knowledge: Knowledge) -> str:
    return knowledge.content_hash("intents", "messages")


def train_router_version(settings: Settings, knowledge: Knowledge, *, args: RouterTrainingArgs | None = None,
                         embedder: Embedder | None = None, log: Log = print, progress: bool = True) -> str:
    """Train a router on the knowledge's labelled messages, register it and make it active."""
    registry = Registry(settings.models_dir)
    staging = registry.staging("router")
    try:
        metrics = train_router(list(knowledge.messages), embedder or embedder_from_settings(settings), staging,
                               args=args, data_hash=router_data_hash(knowledge), log=log, progress=progress)
    except BaseException:
        registry.discard(staging)
        raise
    return registry.register("router", staging, {"data_hash": router_data_hash(knowledge), "metrics": metrics},
                             activate=True)


def train_classifier_version(settings: Settings, examples: list[Example], encoder: Path, *,
                             dev: list[Example] | None = None, args: ClassifierTrainingArgs | None = None,
                             log: Log = print, progress: bool = True) -> str:
    """Fine-tune a classifier on `examples`, register it and make it active (the router then uses it)."""
    registry = Registry(settings.models_dir)
    staging = registry.staging("classifier")
    try:
        metrics = train_classifier(examples, encoder, staging, dev=dev, args=args, log=log, progress=progress)
    except BaseException:
        registry.discard(staging)
        raise
    return registry.register("classifier", staging, {"data_hash": data_hash(examples), "encoder": str(encoder),
                                                     "metrics": metrics}, activate=True)


def _router_fits(registry: Registry, knowledge: Knowledge, embedder: Embedder) -> str | None:
    """None when the active router fits; else why it must be retrained."""
    try:
        config = read_router_config(registry.active_folder("router"))
    except ModelMissing:
        return "no router yet"
    if config.get("embedder") != embedder.name:
        return f"it was trained on embedder {config.get('embedder')!r}, the settings say {embedder.name!r}"
    if config.get("data_hash") != router_data_hash(knowledge):
        return "the labelled messages or intents changed"
    return None


def ensure_ready(settings: Settings, *, embedder: Embedder | None = None, args: RouterTrainingArgs | None = None,
                 log: Log = print, progress: bool = True) -> dict[str, str]:
    """Make ASSISTANT_HOME ready to answer: database migrated, a fitting router and index active.

    Returns what was done per part ("reused" or why it was rebuilt). Raises KnowledgeError with the
    validation report when the knowledge folder is broken.
    """
    knowledge = load_knowledge(settings.knowledge_dir)
    Path(settings.home).mkdir(parents=True, exist_ok=True)
    # Two processes starting on an empty home (serve and chat, or several workers) train once.
    with exclusive(settings.home / ".bootstrap.lock",
                   when_busy=lambda: log("Another start is preparing this home; waiting for it ...")):
        return _ensure_ready(settings, knowledge, embedder, args, log, progress)


def _ensure_ready(settings: Settings, knowledge: Knowledge, embedder: Embedder | None,
                  args: RouterTrainingArgs | None, log: Log, progress: bool) -> dict[str, str]:
    registry = Registry(settings.models_dir)
    embedder = embedder or embedder_from_settings(settings, log)
    done: dict[str, str] = {}
    why = _router_fits(registry, knowledge, embedder)
    if why:
        log(f"Training the router ({why}) ...")
        train_router_version(settings, knowledge, args=args, embedder=embedder, log=log, progress=progress)
    done["router"] = why or "reused"
    why, sync = index_fits(settings, knowledge, embedder)
    if why and sync:
        log(f"Updating the FAQ index ({why}) ...")
        sync_index_version(settings, knowledge, embedder=embedder, log=log, progress=progress)
    elif why:
        log(f"Building the FAQ index ({why}) ...")
        build_index_version(settings, knowledge, embedder=embedder, log=log, progress=progress)
    done["index"] = why or "reused"
    store.migrate(store.engine_for(settings))
    done["database"] = "ready"
    return done
