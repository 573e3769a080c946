"""`assistant index build | add FILE | remove ID... | info`: the FAQ retrieval index's versions."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ui.cli.common import audited, domain_errors, log, settings

app = typer.Typer(help="The FAQ retrieval index.", no_args_is_help=True)


@app.command("build")
@domain_errors
@audited("index build")
def build(as_json: bool = typer.Option(False, "--json", help="Print the new version as JSON.")) -> None:
    """Build the FAQ index from the knowledge folder (and the entries imported before) and make it active."""
    from retrieval.knowledge import load_knowledge
    from ui.index_versions import build_index_version

    config = settings()
    version = build_index_version(config, load_knowledge(config.knowledge_dir), log=log, progress=not as_json)
    print(json.dumps({"index": version}) if as_json else f"index {version} is active")


@app.command("add")
@domain_errors
@audited("index add")
def add(file: Path = typer.Argument(..., help="A Q&A export: .csv with a header row, or .jsonl; columns "
                                               "question, answer, and optionally id, intent, lang."),
        as_json: bool = typer.Option(False, "--json", help="Print what was done as one JSON object.")) -> None:
    """Add a shop's own Q&A to the active index as a new version (checked, masked, de-duplicated)."""
    from retrieval.knowledge import load_knowledge
    from ui.index_versions import import_qa_version

    config = settings()
    version, report, notes, _ = import_qa_version(config, load_knowledge(config.knowledge_dir), file, log=log,
                                               progress=not as_json)
    result = {"index": version, "rows": notes.rows, **report.as_dict(),
              "unknown_intents": notes.unknown_intents, "answers_with_literal_braces": notes.literal_braces,
              "shop_facts_placed": notes.facts_placed}
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    for question, twin in report.duplicates[:10]:
        log(f"duplicate skipped: {question!r} repeats entry {twin}")
    if report.duplicate_count > 10:
        log(f"... and {report.duplicate_count - 10} more duplicates")
    if notes.unknown_intents:
        log(f"intents not in intents.yaml were left out (entries kept): {notes.unknown_intents}")
    print(f"index {version} is active: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
          f"{report.duplicate_count} duplicates skipped")


@app.command("remove")
@domain_errors
@audited("index remove")
def remove(entry_ids: list[str] = typer.Argument(..., help="Entry ids to remove (see entries.jsonl)."),
           as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON.")) -> None:
    """Remove entries from the active index, as a new version."""
    from ui.index_versions import remove_entries_version

    version, removed = remove_entries_version(settings(), entry_ids)
    missing = len(set(entry_ids)) - removed
    if as_json:
        print(json.dumps({"index": version, "removed": removed, "not_found": missing}))
        return
    print(f"index {version} is active: {removed} removed" + (f", {missing} id(s) not found" if missing else ""))


@app.command("info")
@domain_errors
def info(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """The active index: version, type, entries, where they came from, size on disk."""
    from collections import Counter

    from assistant.registry import Registry
    from retrieval.faq_index import read_entries
    from retrieval.index import read_meta

    registry = Registry(settings().models_dir)
    folder = registry.active_folder("index")
    meta = read_meta(folder)
    sources = Counter(e.source for e in read_entries(folder).values())
    result = {"index": registry.active_version("index"), "type": meta.get("index_type"), "count": meta.get("count"),
              "embedder": meta.get("embedder"), "dimension": meta.get("dimension"), "sources": dict(sources),
              "mib": round(sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 2**20, 2)}
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    for key, value in result.items():
        print(f"{key:>10}: {value}")
