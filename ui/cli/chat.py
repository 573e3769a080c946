"""`assistant chat "TEXT"`: answer one message from the command line."""

from __future__ import annotations

import json

import typer

from ui.cli.common import domain_errors, log, settings


@domain_errors
def chat(text: str = typer.Argument(..., help="The customer's message."),
         conversation: str = typer.Option(None, "--conversation", "-c", help="Continue this conversation id."),
         as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the reply text.")) -> None:
    """Answer one customer message (bootstrapping ASSISTANT_HOME on first use) and store the turn."""
    from assistant.pipeline import Assistant
    from ui.bootstrap import ensure_ready

    config = settings()
    ensure_ready(config, log=log, progress=not as_json)
    reply = Assistant(config).reply(conversation, text, channel="cli")
    if as_json:
        print(json.dumps(reply.as_json(), ensure_ascii=False))
        return
    print(reply.text or "(an agent owns this conversation: the assistant stays silent)")
    for notice in reply.notices:
        print(f"({notice})")
    log(f"[conversation {reply.conversation_id} · intent {reply.intent} ({(reply.intent_confidence or 0):.2f}) · "
        f"sentiment {reply.sentiment} · {reply.action}]")
