"""`assistant eval classifier`: train on one file, measure on another, print the scores."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer

from ui.cli.common import domain_errors, log
from ui.cli.train import ENCODER, EPOCHS, MAX_LENGTH, SEED, encoder_folder, task_option, training_args

app = typer.Typer(help="Measure models on labelled data.", no_args_is_help=True)


@app.command("classifier")
@domain_errors
def classifier(train: Path = typer.Option(..., help="Training file: CSV, JSONL or CLINC-style JSON."),
               test: Path = typer.Option(..., help="Test file (a CLINC-style JSON's own test split when it is "
                                                   "the same file as --train)."),
               dev: Path = typer.Option(None, help="Dev file (default: the training file's own, else a stratified "
                                                  "10% of train)."),
               task: str = typer.Option("intent", help="intent or sentiment."),
               mode: str = typer.Option("finetune", help="finetune, lora or head."),
               encoder: str = ENCODER, epochs: int = EPOCHS, max_length: int = MAX_LENGTH, seed: int = SEED,
               int8: bool = typer.Option(False, help="Also measure the int8-quantised model."),
               out: Path = typer.Option(None, help="Keep the model, its per-class report and confusion matrix here "
                                                   "(default: a temporary folder, printed)."),
               as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Train a classifier on --train and report accuracy, macro-F1 and out-of-scope recall on --test."""
    from finetune.classifier import train_classifier
    from finetune.data import read_labelled
    from finetune.evaluate import evaluate_classifier

    args = training_args(mode, epochs, max_length, seed)
    task = task_option(task)
    train_split = read_labelled(train, task)
    test_split = read_labelled(test, task)
    if not test_split.test and Path(test).resolve() == Path(train).resolve():
        raise typer.BadParameter("--test is the training file and it has no test split of its own: "
                                 "give a separate test file")
    test_rows = test_split.test or test_split.train
    dev_rows = read_labelled(dev, task).train if dev is not None else (train_split.dev or None)
    out = out or Path(tempfile.mkdtemp(prefix="assistant-eval-"))
    metrics = train_classifier(train_split.train, encoder_folder(encoder), out, dev=dev_rows, args=args, log=log,
                               progress=not as_json)
    scores = evaluate_classifier(out, test_rows, task, report_dir=out, progress=not as_json)
    result = {"task": task, "mode": mode, **scores, "n_train": metrics["n_train"], "n_dev": metrics["n_dev"],
              "train_seconds": metrics["train_seconds"], "model": str(out)}
    if int8:
        quantised = evaluate_classifier(out, test_rows, task, int8=True)
        result["int8"] = {k: quantised[k] for k in ("accuracy", "macro_f1", "texts_per_second")}
    if as_json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key}: {value}")


@app.command("drafter")
@domain_errors
def drafter(model: str = typer.Option(None, help="A drafter folder or registry version (drafter/v0001) "
                                                 "[default: the active drafter, else the newest]."),
            test: Path = typer.Option(None, help="Held-out pairs (JSONL) [default: the ones saved with the model]."),
            limit: int = typer.Option(0, min=0, help="Use only the first N pairs (0: all)."),
            as_json: bool = typer.Option(False, "--json", help="Print the figures as one JSON object.")) -> None:
    """The drafter beside the template baseline on held-out pairs: chrF, ROUGE-L, fallback rate, latency."""
    from assistant.pipeline import Assistant
    from assistant.registry import Registry
    from assistant.seq2seq import Seq2SeqGenerator
    from finetune.drafter_eval import evaluate_drafter
    from finetune.seq2seq import DrafterExample
    from retrieval.knowledge import jsonl_objects, load_knowledge
    from ui.cli.common import settings
    from ui.drafter_training import TEST_FILE

    config = settings()
    registry = Registry(config.models_dir)
    if model and Path(model).is_dir():
        folder = Path(model)
    elif model:
        folder = registry.folder(*registry.find(model))
    else:
        versions = registry.versions("drafter")
        if not versions:
            raise typer.BadParameter("no drafter trained yet: run `assistant train drafter` first, or give --model")
        folder = registry.folder("drafter", registry.active_version("drafter") or versions[-1])
    path = test or folder / TEST_FILE
    if not path.is_file():
        raise typer.BadParameter(f"{path} does not exist: give --test, or train with `assistant train drafter`")
    problems: list = []
    rows = [row for _, row in jsonl_objects(path, problems)]
    if problems:
        raise typer.BadParameter(f"{path}: {len(problems)} broken line(s), the first: {problems[0]}")
    try:
        examples = [DrafterExample.from_row(row) for row in rows]
    except TypeError as exc:
        raise typer.BadParameter(f"{path}: expected rows written by `assistant train drafter` ({exc})") from None
    examples = examples[:limit] if limit else examples
    generator = Seq2SeqGenerator(folder, Assistant(config).decoding, device=config.device)
    generator.warm_up()
    result = evaluate_drafter(examples, generator.generate, progress=not as_json,
                              order_id_pattern=load_knowledge(config.knowledge_dir).shop.order_id_pattern)
    result = {"folder": str(folder), "test": str(path), **result}
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    verdict = ("worth shipping" if result["model"]["chrf"] > result["template"]["chrf"] and result["fallback_rate"] < 0.2
               else "not worth shipping: keep ASSISTANT_DRAFTER=template")
    print(f"{result['n']} held-out pairs: chrF {result['model']['chrf']:.1f} (template {result['template']['chrf']:.1f}), "
          f"ROUGE-L {result['model']['rouge_l']:.1f} (template {result['template']['rouge_l']:.1f}), "
          f"fallback {result['fallback_rate']:.0%}, latency p50 {result['latency_ms']['p50']:.0f} ms "
          f"p95 {result['latency_ms']['p95']:.0f} ms: {verdict}")
