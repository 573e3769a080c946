"""`assistant train router`: train the intent and sentiment router on the labelled messages."""

from __future__ import annotations

import json

import typer

from ui.cli.common import domain_errors, log, settings

app = typer.Typer(help="Train models.", no_args_is_help=True)


@app.command("router")
@domain_errors
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
