"""`assistant knowledge validate`: every problem of a knowledge folder, with file and line."""

from __future__ import annotations

from pathlib import Path

import typer

from ui.cli.common import EXIT_PROBLEM, settings

app = typer.Typer(help="The shop's knowledge folder.", no_args_is_help=True)


@app.command("validate")
def validate(folder: Path = typer.Argument(None, help="Knowledge folder [default: ASSISTANT_KNOWLEDGE_DIR].")) -> None:
    """Check a knowledge folder; exit 1 and list the problems when there are any."""
    from retrieval.knowledge import load_knowledge, validate_knowledge

    folder = folder or settings().knowledge_dir
    problems = validate_knowledge(folder)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {folder}")
        raise typer.Exit(EXIT_PROBLEM)
    knowledge = load_knowledge(folder)
    print(f"{folder}: OK — {len(knowledge.intents)} intents, {len(knowledge.faq)} FAQ entries, "
          f"{len(knowledge.messages)} labelled messages")
