"""One turn of the learning loop, as `assistant finetune run` (and bench/learning_loop.py) runs it:
approved answers into the FAQ index, then a candidate classifier through the gate, one turn per home."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant.errors import EXPECTED_ERRORS
from assistant.settings import Settings
from finetune.args import ClassifierTrainingArgs
from finetune.datasets import read_holdout
from finetune.loop import GateConfig, run
from retrieval.embedder import Embedder
from retrieval.knowledge import Knowledge
from ui.index_versions import add_approved_answers
from ui.locks import exclusive

Log = Callable[[str], None]


def holdout_path(settings: Settings) -> Path:
    return settings.home / "datasets" / "holdout.json"


def learning_turn(settings: Settings, knowledge: Knowledge, engine, embedder: Embedder, encoder: Path, *,
                  args: ClassifierTrainingArgs | None = None, gate: GateConfig = GateConfig(),
                  pseudo_labels: bool = True, when_busy: Callable[[], None] | None = None, log: Log = print,
                  progress: bool = True) -> dict:
    """Retrieval learns first (agent-approved answers need no gate beyond the agent's approval), then the
    classifier; a knowledge step that fails is logged and the classifier's turn still runs."""
    holdout = holdout_path(settings)
    with exclusive(settings.home / "datasets" / ".finetune.lock", when_busy=when_busy or (lambda: None)):
        try:
            added = add_approved_answers(settings, knowledge, engine, embedder=embedder, log=log, progress=progress)
        except EXPECTED_ERRORS as exc:
            log(f"error: the approved answers were not added ({exc}); they stay approved for the next turn")
            added = {"added": 0, "version": None, "error": str(exc)}
        result = run(settings, knowledge, engine, embedder, encoder, holdout_ids=read_holdout(holdout),
                     holdout_file=holdout, args=args, config=gate, pseudo_labels=pseudo_labels, log=log,
                     progress=progress)
    return {**result, "knowledge": added}
