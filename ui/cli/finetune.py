"""`assistant finetune export | holdout`: training data from the logged conversations."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import typer

from ui.cli.common import audited, domain_errors, log, migrated_engine, settings

app = typer.Typer(help="Learning from the logged conversations.", no_args_is_help=True)


def holdout_path() -> Path:
    from ui.learning import holdout_path as path

    return path(settings())


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
@audited("finetune holdout")
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


@app.command("run")
@domain_errors
@audited("finetune run")
def run_command(tolerance: float = typer.Option(0.5, "--tolerance", min=0.0,
                                                help="Points of holdout accuracy a candidate may lose."),
                min_new_accuracy: float = typer.Option(0.8, "--min-new-accuracy", min=0.0, max=1.0,
                                                       help="Intent accuracy needed on the newly labelled messages."),
                min_holdout: int = typer.Option(30, "--min-holdout", min=1,
                                                help="Agent-labelled holdout messages needed to judge a regression."),
                pseudo_labels: bool = typer.Option(True, "--pseudo-labels/--no-pseudo-labels",
                                                   help="Train on confident predictions in well-rated conversations too."),
                mode: str = typer.Option("finetune", help="finetune, lora or head (see `assistant train classifier`)."),
                encoder: str = typer.Option(None, help="minilm, e5 or an encoder folder (default: the settings')."),
                epochs: int = typer.Option(5, help="At most this many epochs."),
                every: str = typer.Option("", "--every", help="Run again at this interval (30m, 24h, 7d) until "
                                                               "stopped; a failed run is logged and the next one runs."),
                as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object.")) -> None:
    """Add agent-approved answers to the FAQ index; train a candidate classifier, evaluate it beside the
    active one, promote it only if it wins."""
    import time

    if not every:
        _run_once((tolerance, min_new_accuracy, min_holdout), pseudo_labels, mode, encoder, epochs, as_json)
        return
    interval = parse_interval(every)
    while True:
        started = time.monotonic()
        try:
            _run_once((tolerance, min_new_accuracy, min_holdout), pseudo_labels, mode, encoder, epochs, as_json)
        except Exception as exc:  # noqa: BLE001 (a failed turn must not end the schedule; the models stay)
            logging.getLogger(__name__).exception("fine-tuning turn failed")
            log(f"error: {exc} (the active classifier is unchanged; next run in {every})")
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


def parse_interval(text: str) -> float:
    """Seconds in "90s", "30m", "24h" or "7d"."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        value = float(text[:-1])
        seconds = value * units[text[-1]]
    except (KeyError, ValueError, IndexError):
        raise typer.BadParameter(f"--every {text!r}: write a number and a unit, e.g. 30m, 24h or 7d") from None
    if seconds < 60:
        raise typer.BadParameter(f"--every {text!r}: at least a minute between runs")
    return seconds


def _another_turn() -> None:
    raise typer.BadParameter("another `assistant finetune run` is running in this home")


def _run_once(gate: tuple[float, float, int], pseudo_labels, mode, encoder, epochs, as_json) -> None:
    from assistant.models import embedder_from_settings
    from finetune.loop import GateConfig
    from retrieval.knowledge import load_knowledge
    from ui.cli.train import encoder_folder, training_args
    from ui.learning import learning_turn

    config = settings()
    args = training_args(mode, epochs, 64, 0)
    result = learning_turn(config, load_knowledge(config.knowledge_dir), migrated_engine(),
                           embedder_from_settings(config), encoder_folder(encoder), args=args,
                           gate=GateConfig(*gate), pseudo_labels=pseudo_labels, when_busy=_another_turn,
                           log=log, progress=not as_json)
    if as_json:
        print(json.dumps({k: v for k, v in result.items() if k not in ("candidate", "active")} |
                         ({"holdout": {"candidate": result["candidate"]["holdout"].get("intent"),
                                       "active": result["active"]["holdout"].get("intent")}}
                          if "candidate" in result else {})))
        return
    if result["version"] is None:
        print("; ".join(result["reasons"]))
        return
    print(f"{result['version']}: {'promoted' if result['promoted'] else 'rejected'}"
          + ("" if result["promoted"] else " (" + "; ".join(result["reasons"]) + ")")
          + "; report in its folder (report.md)")
