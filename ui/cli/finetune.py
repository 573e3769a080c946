"""`assistant finetune export | holdout`: training data from the logged conversations."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import typer

from ui.cli.common import domain_errors, log, migrated_engine, settings

app = typer.Typer(help="Learning from the logged conversations.", no_args_is_help=True)


def holdout_path() -> Path:
    return settings().home / "datasets" / "holdout.json"


@app.command("export")
@domain_errors
def export_command(out: Path = typer.Option(None, "--out", help="Folder for the JSONL files (default: a new "
                                                                  "folder under ASSISTANT_HOME/datasets)."),
                   pseudo_labels: bool = typer.Option(True, "--pseudo-labels/--no-pseudo-labels",
                                                      help="Use confident predictions in well-rated conversations."),
                   min_confidence: float = typer.Option(0.9, "--min-confidence", min=0.0, max=1.0,
                                                        help="Confidence a pseudo-label needs."),
                   as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON.")) -> None:
    """Write classifier and drafter examples from the store: train and frozen-holdout files, split by conversation."""
    from finetune.datasets import export, read_holdout, write_jsonl

    data = export(migrated_engine(), holdout=read_holdout(holdout_path()), pseudo_labels=pseudo_labels,
                  min_confidence=min_confidence)
    folder = out or settings().home / "datasets" / datetime.now(timezone.utc).strftime("export-%Y%m%d-%H%M%S")
    files = {"classifier-train.jsonl": data.train, "classifier-holdout.jsonl": data.holdout,
             "drafter-train.jsonl": data.drafter_train, "drafter-holdout.jsonl": data.drafter_holdout}
    for name, rows in files.items():
        write_jsonl(Path(folder) / name, (row.as_row() for row in rows))
    result = {"folder": str(folder), **data.stats}
    if as_json:
        print(json.dumps(result))
        return
    if not data.holdout and not data.drafter_holdout:
        log("note: the frozen holdout is empty; `assistant finetune holdout --grow` sets conversations apart")
    print(f"{data.stats['train']} classifier examples for training ({data.stats['agent']} agent-labelled, "
          f"{data.stats['pseudo']} pseudo-labelled overall), {data.stats['holdout']} held out; "
          f"{data.stats['drafter_pairs']} drafter pairs; written to {folder}")


@app.command("holdout")
@domain_errors
def holdout(grow: bool = typer.Option(False, "--grow", help="Set apart a share of the conversations not "
                                                            "considered before."),
            fraction: float = typer.Option(0.2, "--fraction", min=0.01, max=0.99, help="Share to set apart."),
            as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """The frozen holdout: conversations that never enter training; it grows only with --grow."""
    from finetune.datasets import grow_holdout, read_holdout

    if grow:
        result = grow_holdout(holdout_path(), migrated_engine(), fraction=fraction)
    else:
        result = {"total": len(read_holdout(holdout_path()))}
    print(json.dumps(result) if as_json else ", ".join(f"{k}: {v}" for k, v in result.items()))
