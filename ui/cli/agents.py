"""`assistant agents`: the support agents' accounts for the console at /agent."""

from __future__ import annotations

import sys

import typer

from ui.cli.common import audited, domain_errors, migrated_engine

app = typer.Typer(help="Support agents' accounts.", no_args_is_help=True)


@app.command("add")
@domain_errors
@audited("agents add")
def add(name: str = typer.Argument(..., help="The agent's login name."),
        password_stdin: bool = typer.Option(False, "--password-stdin",
                                            help="Read the password from standard input (for scripts).")) -> None:
    """Create an agent account; the password is asked for (twice) unless --password-stdin."""
    from assistant import desk, store

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with store.transaction(migrated_engine()) as session:
        agent = desk.add_agent(session, name=name, password=password)
    typer.echo(f"Agent {agent.name!r} can now sign in at /agent.")


@app.command("list")
@domain_errors
def list_agents() -> None:
    """The agents' names."""
    from assistant import desk, store

    with store.transaction(migrated_engine()) as session:
        for agent in desk.list_agents(session):
            typer.echo(f"{agent.name}\tsince {agent.created_at:%Y-%m-%d}")
