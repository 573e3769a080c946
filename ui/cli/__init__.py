"""The `assistant` command: one small module per subcommand."""

from __future__ import annotations

import os

# Offline by default: models come from pip packages or ASSISTANT_HOME, never from a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import typer  # noqa: E402

from ui.cli import (agents, alerts, analyze, audit, chat, drafter, evaluate, finetune, index, keys, knowledge, models,  # noqa: E402
                    serve, train)

app = typer.Typer(help="Offline bilingual customer-service assistant for online shops.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.command("serve")(serve.serve)
app.command("chat")(chat.chat)
app.add_typer(index.app, name="index")
app.add_typer(train.app, name="train")
app.add_typer(evaluate.app, name="eval")
app.add_typer(knowledge.app, name="knowledge")
app.add_typer(keys.app, name="keys")
app.add_typer(agents.app, name="agents")
app.add_typer(models.app, name="models")
app.add_typer(finetune.app, name="finetune")
app.add_typer(drafter.app, name="drafter")
app.add_typer(analyze.app, name="analyze")
app.add_typer(alerts.app, name="alerts")
app.add_typer(audit.app, name="audit")


def main() -> None:
    app()
