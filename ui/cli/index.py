"""`assistant index build`: embed the knowledge's FAQ into a new active index version."""

from __future__ import annotations

import json

import typer

from ui.cli.common import domain_errors, log, settings

app = typer.Typer(help="The FAQ retrieval index.", no_args_is_help=True)


@app.command("build")
@domain_errors
def build(as_json: bool = typer.Option(False, "--json", help="Print the new version as JSON.")) -> None:
    """Build the FAQ index from the knowledge folder and make it active."""
    from retrieval.knowledge import load_knowledge
    from ui.bootstrap import build_index_version

    config = settings()
    version = build_index_version(config, load_knowledge(config.knowledge_dir), log=log, progress=not as_json)
    print(json.dumps({"index": version}) if as_json else f"index {version} is active")
