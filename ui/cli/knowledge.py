"""`assistant knowledge validate`: every problem of a knowledge folder, with file and line."""

from __future__ import annotations

from pathlib import Path

import typer

from ui.cli.common import EXIT_PROBLEM, domain_errors, settings

app = typer.Typer(help="The shop's knowledge folder.", no_args_is_help=True)


@app.command("validate")
@domain_errors
def validate(folder: Path = typer.Argument(None, help="Knowledge folder [default: ASSISTANT_KNOWLEDGE_DIR].")) -> None:
    """Check a knowledge folder; exit 1 and list the problems when there are any."""
    from retrieval.errors import KnowledgeError
    from retrieval.knowledge import load_knowledge

    folder = folder or settings().knowledge_dir
    try:
        knowledge = load_knowledge(folder)
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{len(exc.problems)} problem(s) in {folder}")
        raise typer.Exit(EXIT_PROBLEM) from exc
    print(f"{folder}: OK — {len(knowledge.intents)} intents, {len(knowledge.faq)} FAQ entries, "
          f"{len(knowledge.messages)} labelled messages")
