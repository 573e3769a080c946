"""One turn of the learning loop: export -> train a candidate -> evaluate beside the active model -> gate.

The candidate learns from the same base as the models before it (the knowledge's labelled messages)
plus everything the store teaches outside the frozen holdout. It is compared with the active router
or classifier on the holdout's agent-labelled messages: conversations neither model trained on, with
labels a person gave (pseudo-labels there would only repeat the active model's own answers). The
gate promotes only when that holdout is big enough to tell a regression, no holdout accuracy falls
more than `tolerance` points below the active model's, and the new agent labels of the training
split are learned. Either way the candidate is registered with its report; only a promoted one
becomes active.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.registry import Registry
from assistant.router import Router
from finetune.args import ClassifierTrainingArgs
from finetune.classifier import train_classifier
from finetune.data import Example, data_hash, from_messages
from finetune.datasets import consider, export
from finetune.evaluate import plot_confusion
from retrieval.embedder import Embedder
from retrieval.knowledge import Knowledge

Log = Callable[[str], None]


@dataclass(frozen=True)
class GateConfig:
    tolerance: float = 0.5          # points of accuracy a holdout metric may lose
    min_new_accuracy: float = 0.8   # intent accuracy the candidate needs on the newly labelled rows
    min_holdout: int = 30           # agent-labelled holdout messages needed to judge a regression


def score(router: Router, examples: list[Example]) -> dict:
    """Accuracy per head and per intent of `router` on labelled examples (rows without a head's label skipped)."""
    out: dict = {}
    routes = [router.route(e.text) for e in examples]
    for head in ("intent", "sentiment"):
        pairs = [(e.label(head), getattr(r, head)) for e, r in zip(examples, routes) if e.label(head)]
        if pairs:
            out[head] = round(float(np.mean([a == b for a, b in pairs])), 4)
            out[f"n_{head}"] = len(pairs)
    per_intent: dict[str, list[bool]] = {}
    confusion: dict[str, dict[str, int]] = {}
    for example, route in zip(examples, routes):
        if truth := example.label("intent"):
            per_intent.setdefault(truth, []).append(route.intent == truth)
            row = confusion.setdefault(truth, {})
            row[route.intent] = row.get(route.intent, 0) + 1
    out["per_intent"] = {k: round(float(np.mean(v)), 4) for k, v in sorted(per_intent.items())}
    out["confusion"] = {k: dict(sorted(v.items())) for k, v in sorted(confusion.items())}  # truth -> predicted -> n
    return out


def gate(candidate: dict, active: dict, config: GateConfig) -> tuple[bool, list[str]]:
    """(promote?, reasons): no holdout metric may fall more than the tolerance; the new labels must be learned."""
    reasons = []
    size = candidate.get("holdout", {}).get("n_intent", 0)
    if size < config.min_holdout:
        reasons.append(f"the frozen holdout has {size} agent-labelled message(s), {config.min_holdout} are needed to "
                       "tell a regression: label more, and set conversations apart with `assistant finetune holdout --grow`")
    for head in ("intent", "sentiment"):
        if head in active.get("holdout", {}) and head in candidate.get("holdout", {}):
            drop = round(100 * (active["holdout"][head] - candidate["holdout"][head]), 6)
            if drop > config.tolerance:
                reasons.append(f"holdout {head} accuracy falls {drop:.1f} points "
                               f"({active['holdout'][head]:.3f} -> {candidate['holdout'][head]:.3f})")
    new = candidate.get("new", {})
    if not new.get("n_intent"):
        reasons.append("no newly labelled messages to learn from")
    elif new["intent"] < config.min_new_accuracy:
        reasons.append(f"new labels not learned: intent accuracy {new['intent']:.3f} < {config.min_new_accuracy}")
    return not reasons, reasons


def run(settings, knowledge: Knowledge, engine, embedder: Embedder, encoder: Path, *, holdout_ids: set[str],
        holdout_file: Path | None = None,
        args: ClassifierTrainingArgs | None = None, config: GateConfig = GateConfig(), pseudo_labels: bool = True,
        log: Log = print, progress: bool = True) -> dict:
    """Train, evaluate and gate one candidate classifier; returns the result (also in the version's report)."""
    started = time.perf_counter()
    registry = Registry(settings.models_dir)
    if stale := registry.clean_stale("classifier"):
        log(f"Removed {stale} half-written candidate folder(s) of an interrupted run")
    data = export(engine, holdout=holdout_ids, pseudo_labels=pseudo_labels)
    log(f"Exported {data.stats['train']} training and {data.stats['holdout']} held-out examples from the store")
    if holdout_file is not None:  # what this turn trains on may never be drawn into the holdout later
        consider(holdout_file, {row.conversation_id for row in data.train})
    train = from_messages(knowledge.messages) + [row.example for row in data.train]
    holdout = [row.example for row in data.holdout if row.origin == "agent"]
    new_rows = [row.example for row in data.train if row.origin == "agent"]
    newest = registry.versions("classifier")[-1:]
    why_not = None
    if not data.train:
        why_not = "nothing new in the store to learn from"
    elif newest and registry.info("classifier", newest[0]).get("data_hash") == data_hash(train):
        why_not = f"nothing changed since classifier/{newest[0]} was trained"
    else:  # a rejection certain before training costs no training
        _, certain = gate({"holdout": {"n_intent": len(holdout)}, "new": {"n_intent": len(new_rows), "intent": 1.0}},
                          {"holdout": {}}, config)
        why_not = "; ".join(certain) or None
    if why_not:
        log(f"No candidate trained: {why_not}")
        return {"promoted": False, "reasons": [why_not], "version": None, "export": data.stats,
                "n_holdout": len(holdout), "n_new": len(new_rows), "seconds": round(time.perf_counter() - started, 1)}
    active_kind = "classifier" if registry.active_version("classifier") else "router"
    active_version = registry.active_version(active_kind)
    staging = registry.staging("classifier")
    try:
        log(f"Training a candidate on {len(train)} examples ...")
        metrics = train_classifier(train, encoder, staging, args=args, log=log, progress=progress)
        pattern = knowledge.shop.order_id_pattern
        # Scored as they would serve (int8 when the settings say so).
        candidate = Router(staging, embedder, order_id_pattern=pattern, min_confidence=settings.min_intent_confidence,
                           int8=settings.classifier_int8)
        active = Router(registry.active_folder(active_kind), embedder, order_id_pattern=pattern,
                        min_confidence=settings.min_intent_confidence, int8=settings.classifier_int8)
        log(f"Evaluating the candidate and the active {active_kind} {active_version} ...")
        scores = {"candidate": {"holdout": score(candidate, holdout), "new": score(candidate, new_rows)},
                  "active": {"holdout": score(active, holdout), "new": score(active, new_rows)}}
        promote, reasons = gate(scores["candidate"], scores["active"], config)
        result = {"promoted": promote, "reasons": reasons, "active_before": f"{active_kind}/{active_version}",
                  "n_train": len(train), "n_holdout": len(holdout), "n_new": len(new_rows),
                  "export": data.stats, "gate": {"tolerance": config.tolerance, "min_new_accuracy": config.min_new_accuracy},
                  **scores, "seconds": round(time.perf_counter() - started, 1)}
        write_report(staging, result)
    except BaseException:
        registry.discard(staging)
        raise
    version = registry.register("classifier", staging, {
        "change": "finetune: promoted" if promote else "finetune: rejected (" + "; ".join(reasons) + ")",
        "data_hash": data_hash(train), "metrics": metrics, "gate": {"promoted": promote, "reasons": reasons}},
        activate=promote)
    result["version"] = f"classifier/{version}"
    log(f"candidate classifier/{version}: " + ("promoted" if promote else "rejected: " + "; ".join(reasons)))
    return result


def write_report(folder: Path, result: dict) -> None:
    """report.json, report.md, report-per-intent.png (candidate against active on the holdout) and
    report-confusion.png (the candidate's intents on the holdout and the new labels together)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    (folder / "report.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    cand, act = result["candidate"], result["active"]
    lines = [f"# Candidate classifier: {'promoted' if result['promoted'] else 'rejected'}", ""]
    lines += [f"- {reason}" for reason in result["reasons"]] or ["- every holdout metric within tolerance, new labels learned"]
    lines += ["", f"Trained on {result['n_train']} examples; frozen holdout: {result['n_holdout']} agent-labelled "
                  f"messages; new agent labels in training: {result['n_new']}.", "",
              "| metric | active | candidate |", "|---|---|---|"]
    for part in ("holdout", "new"):
        for head in ("intent", "sentiment"):
            if head in cand[part] or head in act[part]:
                lines.append(f"| {part} {head} accuracy | {act[part].get(head, '—')} | {cand[part].get(head, '—')} |")
    lines += ["", "| intent (holdout) | active | candidate |", "|---|---|---|"]
    intents = sorted(set(cand["holdout"]["per_intent"]) | set(act["holdout"]["per_intent"]))
    for intent in intents:
        lines.append(f"| {intent} | {act['holdout']['per_intent'].get(intent, '—')} | "
                     f"{cand['holdout']['per_intent'].get(intent, '—')} |")
    lines += ["", "![per intent](report-per-intent.png)", "", "![confusion matrix](report-confusion.png)"]
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    figure, axis = plt.subplots(figsize=(max(6, 0.45 * len(intents)), 4))
    x = np.arange(len(intents))
    axis.bar(x - 0.2, [act["holdout"]["per_intent"].get(i, 0) for i in intents], 0.4, label="active")
    axis.bar(x + 0.2, [cand["holdout"]["per_intent"].get(i, 0) for i in intents], 0.4, label="candidate")
    axis.set_xticks(x, intents, rotation=60, ha="right", fontsize=8)
    axis.set_ylabel("holdout accuracy")
    axis.set_ylim(0, 1.05)
    axis.legend()
    figure.tight_layout()
    figure.savefig(folder / "report-per-intent.png", dpi=100)
    plt.close(figure)
    truth, predicted = [], []
    for part in (cand["holdout"].get("confusion", {}), cand["new"].get("confusion", {})):
        for label, row in part.items():
            for guess, n in row.items():
                truth += [label] * n
                predicted += [guess] * n
    if truth:
        plot_confusion(truth, predicted, folder / "report-confusion.png",
                       "Candidate intents on the holdout and the new labels (rows sum to 1)")
