"""`assistant train router|classifier|drafter|reviews`: train the models the assistant serves."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ui.cli.common import audited, domain_errors, log, settings

app = typer.Typer(help="Train models.", no_args_is_help=True)

TASKS = ("intent", "sentiment")


@app.command("router")
@domain_errors
@audited("train router")
def router(as_json: bool = typer.Option(False, "--json", help="Print the version and its metrics as JSON."),
           seed: int = typer.Option(0, help="Seed of the held-out split."),
           holdout: float = typer.Option(0.2, help="Share of messages held out to measure accuracy.")) -> None:
    """Train the router on the knowledge's labelled messages and make it active."""
    from assistant.registry import Registry
    from finetune.args import RouterTrainingArgs
    from retrieval.knowledge import load_knowledge
    from ui.bootstrap import train_router_version

    config = settings()
    try:
        args = RouterTrainingArgs(seed=seed, holdout_fraction=holdout)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    version = train_router_version(config, load_knowledge(config.knowledge_dir), args=args, log=log,
                                   progress=not as_json)
    metrics = Registry(config.models_dir).info("router", version)["metrics"]
    if as_json:
        print(json.dumps({"router": version, "metrics": metrics}))
        return
    print(f"router {version} is active")
    if "holdout" in metrics:
        h = metrics["holdout"]
        print(f"held-out ({h['n']} messages): intent accuracy {h['intent']['accuracy']:.3f} "
              f"(macro-F1 {h['intent']['macro_f1']:.3f}), sentiment accuracy {h['sentiment']['accuracy']:.3f}")
        for lang, m in h["per_language"].items():
            print(f"  {lang}: intent {m['intent_accuracy']:.3f}, sentiment {m['sentiment_accuracy']:.3f} (n={m['n']})")


def training_args(mode: str, epochs: int, max_length: int, seed: int, max_train: int = 0):
    """The classifier's training arguments from command-line options (a bad value is a usage error)."""
    from finetune.args import ClassifierTrainingArgs

    try:
        return ClassifierTrainingArgs(mode=mode, epochs=epochs, max_length=max_length, seed=seed,
                                      max_train_examples=max_train)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def encoder_folder(spec: str | None) -> Path:
    """`minilm`, `e5`, a folder, or (None) the encoder the settings name."""
    from assistant import models

    config = settings()
    if spec is None:
        return models.encoder_folder(config, log)
    if spec == "minilm":
        return models.minilm_path()
    if spec == "e5":
        return models.multilingual_encoder_path(config, log)
    path = Path(spec).expanduser()
    if not (path / "config.json").is_file():
        raise typer.BadParameter(f"{path} is not a Hugging Face encoder folder (no config.json); "
                                 "give minilm, e5 or such a folder")
    return path


def task_option(task: str) -> str:
    if task not in TASKS:
        raise typer.BadParameter(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    return task


MODE = typer.Option("finetune", help="finetune (encoder and heads), lora (adapters; larger encoders) or head "
                                     "(frozen encoder, instant).")
ENCODER = typer.Option(None, help="minilm, e5 or a Hugging Face encoder folder (default: the settings' encoder).")
EPOCHS = typer.Option(5, help="At most this many epochs (early stopping on dev macro-F1 usually ends sooner).")
MAX_LENGTH = typer.Option(64, help="Tokens per text; longer texts are truncated.")
SEED = typer.Option(0, help="Seed of the dev split, the shuffling and the initialisation.")


@app.command("classifier")
@domain_errors
@audited("train classifier")
def classifier(data: Path = typer.Option(None, help="CSV, JSONL or CLINC-style JSON of labelled texts "
                                                    "(default: the knowledge's labelled messages, intent and sentiment)."),
               out: Path = typer.Option(None, help="Write the model here (default: a new active registry version, "
                                                   "which the router then uses)."),
               dev: Path = typer.Option(None, help="Dev split file (default: the file's own, else a stratified 10%)."),
               task: str = typer.Option("intent", help="Which head a --data file's labels train: intent or sentiment."),
               mode: str = MODE, encoder: str = ENCODER, epochs: int = EPOCHS, max_length: int = MAX_LENGTH,
               seed: int = SEED,
               as_json: bool = typer.Option(False, "--json", help="Print the version or folder and its metrics as JSON.")) -> None:
    """Fine-tune the intent and sentiment classifier."""
    from finetune.classifier import train_classifier
    from finetune.data import from_messages, read_labelled
    from retrieval.knowledge import load_knowledge
    from ui.bootstrap import train_classifier_version

    args = training_args(mode, epochs, max_length, seed)
    task = task_option(task)
    if data is not None and out is None:
        # The assistant's router needs both heads; a file trains one, so its model goes to a folder.
        raise typer.BadParameter("--data trains one head (--task), the assistant needs intent and sentiment: "
                                 "give --out DIR, or leave --data out to train on the knowledge's labelled messages")
    if data is None and (dev is not None or task != "intent"):
        raise typer.BadParameter("--dev and --task go with --data")
    config = settings()
    if data is None:
        train, dev_rows = from_messages(load_knowledge(config.knowledge_dir).messages), None
    else:
        split = read_labelled(data, task)
        train, dev_rows = split.train, split.dev or None
    if dev is not None:
        dev_rows = read_labelled(dev, task).train
    folder = encoder_folder(encoder)
    if out is None:
        version = train_classifier_version(config, train, folder, dev=dev_rows, args=args, log=log,
                                           progress=not as_json)
        from assistant.registry import Registry

        where, metrics = {"classifier": version}, Registry(config.models_dir).info("classifier", version)["metrics"]
    else:
        metrics = train_classifier(train, folder, out, dev=dev_rows, args=args, log=log, progress=not as_json)
        where = {"folder": str(out)}
    if as_json:
        print(json.dumps(where | {"metrics": metrics}, ensure_ascii=False))
        return
    print(f"classifier {where.get('classifier', out)} {'is active' if out is None else 'saved'} "
          f"({metrics['train_seconds']:.0f} s, {metrics['n_train']} training texts)")
    for head, scores in metrics["dev"].items():
        print(f"  dev {head}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))


@app.command("drafter")
@domain_errors
@audited("train drafter")
def drafter(out: Path = typer.Option(None, help="Write the model here (default: a new registry version; "
                                                "`assistant models promote drafter/VERSION` makes it the active one)."),
            encoder: str = ENCODER,
            epochs: int = typer.Option(40, help="At most this many epochs (early stopping on dev loss)."),
            architecture: str = typer.Option("t5-scratch", help="t5-scratch (a small T5 and tokenizer trained here) "
                                                                "or warm-start (the encoder on both sides)."),
            decoder_layers: int = typer.Option(6, help="Warm start: decoder layers (the encoder's first ones)."),
            learning_rate: float = typer.Option(0.0, help="AdamW learning rate [default: 1e-3 t5-scratch, "
                                                          "3e-4 warm-start (its new cross-attention 5x)]."),
            test_fraction: float = typer.Option(0.15, min=0.0, max=0.5,
                                                help="Share of the Q&A entries held out for `assistant eval drafter`."),
            seed: int = SEED,
            as_json: bool = typer.Option(False, "--json", help="Print the version or folder and its metrics as JSON.")) -> None:
    """Train the seq2seq reply drafter on the shop's Q&A and the agents' replies (retrieval-augmented pairs)."""
    from ui.drafter_training import train_drafter_version

    from finetune.args import DrafterTrainingArgs

    try:
        args = DrafterTrainingArgs(architecture=architecture, epochs=epochs, decoder_layers=decoder_layers,
                                   learning_rate=learning_rate, seed=seed)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    where, metrics = train_drafter_version(settings(), encoder_folder(encoder), args=args, out=out,
                                           test_fraction=test_fraction, log=log, progress=not as_json)
    if as_json:
        print(json.dumps(where | {"metrics": {k: v for k, v in metrics.items() if k != "history"}}))
        return
    print(f"drafter {where.get('drafter', out)} saved ({metrics['train_seconds']:.0f} s, {metrics['n_train']} pairs, "
          f"best dev loss {metrics['dev_loss']:.3f}); measure it with `assistant eval drafter`")


@app.command("reviews")
@domain_errors
@audited("train reviews")
def reviews(file: Path = typer.Argument(..., help="A CSV or JSON Lines file of reviews with a label column "
                                               "(1/0, positive/negative/neutral, 好评/差评) or star ratings (1-2 negative, "
                                               "3 neutral, 4-5 positive)."),
            label_column: str | None = typer.Option(None, help="The label column, if not label/sentiment/polarity."),
            text_column: str | None = typer.Option(None, help="The text column, if not text/review/评论."),
            product_column: str | None = typer.Option(None, help="The product column (held-out accuracy per product)."),
            rating_column: str | None = typer.Option(None, help="The star-rating column, if not rating/stars/评分."),
            holdout: float = typer.Option(0.2, help="Share of reviews held out to measure accuracy."),
            use_encoder: bool = typer.Option(False, "--encoder", help="Join the sentence encoder's embedding to the "
                                             "n-grams (better with few labelled reviews; ~100x slower to read)."),
            seed: int = SEED,
            as_json: bool = typer.Option(False, "--json", help="Print the version and its metrics as JSON.")) -> None:
    """Train the review sentiment model that `assistant analyze reviews` and the dashboard use, and make it active."""
    from assistant.models import embedder_from_settings
    from finetune.args import ReviewTrainingArgs
    from ui.cli.analyze import columns_option
    from ui.review_analysis import train_review_version

    try:
        args = ReviewTrainingArgs(holdout_fraction=holdout, seed=seed, encoder=use_encoder)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    config = settings()
    version, metrics = train_review_version(
        config, file, args=args, columns=columns_option(text_column, product_column, None, rating_column, label_column),
        embedder=lambda: embedder_from_settings(config, log), log=log, progress=not as_json)
    if as_json:
        print(json.dumps({"reviews": version, "metrics": metrics}, ensure_ascii=False))
        return
    print(f"review model {version} is active ({metrics['train_size']} reviews, {metrics['seconds']:.0f} s)")
    if "holdout" in metrics:
        h = metrics["holdout"]
        print(f"held-out ({h['n']} reviews): accuracy {h['accuracy']:.4f}, macro-F1 {h['macro_f1']:.4f}")
        for name, m in h.get("per_product", {}).items():
            print(f"  {name}: {m['accuracy']:.4f} (n={m['n']})")
