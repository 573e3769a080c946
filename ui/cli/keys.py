"""`assistant keys`: the shop keys that let a shop's pages start conversations through the HTTP API."""

from __future__ import annotations

import json

import typer

from ui.cli.common import audited, domain_errors, migrated_engine

app = typer.Typer(help="Shop API keys.", no_args_is_help=True)


@app.command("create")
@domain_errors
@audited("keys create")
def create(name: str = typer.Option(..., "--name", help="The shop or site the key is for (unique)."),
           origin: list[str] = typer.Option([], "--origin", help="A web origin allowed to call the API "
                                                                "from a browser, e.g. https://shop.example; repeatable.")) -> None:
    """Create a key; it is printed once, as the last line, and stored only as a hash."""
    from assistant import store

    origins = [o.rstrip("/") for o in origin]
    for value in origins:
        if not value.startswith(("http://", "https://")):
            raise typer.BadParameter(f"{value!r} is not an origin: write it as https://host[:port]")
    with store.transaction(migrated_engine()) as session:
        row, key = store.create_api_key(session, name=name, origins=origins)
    typer.echo(f"Created key {row.name!r} ({row.prefix}…); origins: {', '.join(origins) or 'none (server-side use)'}.")
    typer.echo("Keep it secret; it is not shown again:")
    typer.echo(key)


@app.command("revoke")
@domain_errors
@audited("keys revoke")
def revoke(name: str = typer.Argument(..., help="The key's name.")) -> None:
    """Revoke a key: it can start no more conversations (existing ones keep their tokens)."""
    from assistant import store

    with store.transaction(migrated_engine()) as session:
        row = store.revoke_api_key(session, name=name)
    typer.echo(f"Revoked key {row.name!r} ({row.prefix}…).")


@app.command("list")
@domain_errors
def list_keys(as_json: bool = typer.Option(False, "--json")) -> None:
    """The keys, with their origins and whether they are revoked."""
    from assistant import store

    with store.transaction(migrated_engine()) as session:
        rows = [{"name": k.name, "prefix": k.prefix, "origins": k.origins or [], "created": k.created_at.isoformat(),
                 "revoked": k.revoked_at.isoformat() if k.revoked_at else None} for k in store.list_api_keys(session)]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        state = f"revoked {row['revoked'][:10]}" if row["revoked"] else "active"
        typer.echo(f"{row['name']:<24} {row['prefix']}…  {state:<18} {', '.join(row['origins'])}")
