"""`assistant audit`: the audit log of administrators' commands and agents' actions."""

from __future__ import annotations

import json

import typer

from ui.cli.common import domain_errors, migrated_engine

app = typer.Typer(help="Who did what: administrators' commands and agents' actions.", no_args_is_help=True)


@app.command("list")
@domain_errors
def list_entries(limit: int = typer.Option(50, min=1, help="How many, newest first."),
                 kind: str = typer.Option("all", help="admin, agent or all."),
                 as_json: bool = typer.Option(False, "--json", help="Print as JSON lines.")) -> None:
    """The newest entries: when, who, what, on which conversation, and how it ended."""
    from assistant import audit, store

    if kind not in ("admin", "agent", "all"):
        raise typer.BadParameter(f"--kind must be admin, agent or all, not {kind!r}")
    with store.transaction(migrated_engine()) as session:
        rows = [r for r in audit.entries(session, limit=limit if kind == "all" else 10 * limit)
                if kind == "all" or r["kind"] == kind][:limit]
    for row in rows:
        if as_json:
            typer.echo(json.dumps({**row, "at": row["at"].isoformat()}, ensure_ascii=False))
            continue
        target = f" {row['target']}" if row["target"] else ""
        detail = json.dumps(row["detail"], ensure_ascii=False) if row["detail"] else ""
        typer.echo(f"{row['at']:%Y-%m-%d %H:%M:%S}  {row['kind']:<5}  {row['who']:<24}  {row['action']}{target}  "
                   f"{row['outcome']}  {detail}")
