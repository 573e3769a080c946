"""`assistant analyze reviews FILE`: what a file of product reviews says, stored, reported and checked for spikes."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ui.cli.common import domain_errors, log, settings

app = typer.Typer(help="Analyse customer feedback.", no_args_is_help=True)


def columns_option(text: str | None, product: str | None, date: str | None, rating: str | None, label: str | None = None):
    from assistant.review_files import Columns

    return Columns(text=text, product=product, date=date, rating=rating, label=label)


@app.command("reviews")
@domain_errors
def analyze_reviews(file: Path = typer.Argument(..., help="A CSV or JSON Lines file with a review text column."),
                    out: Path | None = typer.Option(None, help="Folder for report.md and its charts "
                                                    "(default: ASSISTANT_HOME/reports/reviews/batch-N)."),
                    text_column: str | None = typer.Option(None, help="The text column, if not text/review/评论."),
                    product_column: str | None = typer.Option(None, help="The product column, if not product/cat/商品."),
                    date_column: str | None = typer.Option(None, help="The date column, if not date/created_at/日期."),
                    rating_column: str | None = typer.Option(None, help="The star-rating column, if not rating/stars/评分."),
                    as_json: bool = typer.Option(False, "--json", help="Print the batch's figures as JSON.")) -> None:
    """Classify each review's sentiment and aspects, extract product mentions, store them, write a report."""
    from tqdm import tqdm

    from assistant import store
    from assistant.models import embedder_from_settings
    from assistant.registry import Registry
    from assistant.review_files import ReviewFile
    from retrieval.knowledge import load_knowledge
    from ui.bootstrap import ensure_ready
    from ui.review_analysis import analyse_reviews, sentiment_reader

    config = settings()
    ReviewFile(file)  # a wrong file is reported before any model loads
    knowledge = load_knowledge(config.knowledge_dir)
    engine = store.engine_for(config)
    store.migrate(engine)
    loaded = []

    def embedder():
        loaded[:] = loaded or [embedder_from_settings(config, log)]
        return loaded[0]

    if not Registry(config.models_dir).active_version("reviews"):
        # No review model: the router reads them, trained first on a fresh home as `assistant serve` would.
        log("No review model (`assistant train reviews FILE` trains one): reading sentiment with the router.")
        ensure_ready(config, embedder=embedder(), log=log, progress=not as_json)
    reader = sentiment_reader(config, knowledge, embedder=embedder)
    log(f"Reading reviews with {reader.name} ...")
    with tqdm(total=file.stat().st_size if file.is_file() else 0, unit="B", unit_scale=True, disable=as_json,
              desc="reviews") as bar:
        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        analysis = analyse_reviews(config, engine, knowledge, file, reader=reader, out=out, progress=progress,
                                   columns=columns_option(text_column, product_column, date_column, rating_column))
    result, stats = analysis.result, analysis.result.stats
    figures = {"batch": result.batch_id, "reviews": result.rows, "skipped": result.skipped, "model": analysis.model,
               "seconds": result.seconds, "reviews_per_second": round(result.rows / max(result.seconds, 1e-9), 1),
               "sentiments": dict(stats.sentiments), "report": str(analysis.report),
               "negative_share_by_product": {name: round(stats.negative_share(c), 4)
                                             for name, c in sorted(stats.by_product.items())},
               "negative_share_by_aspect": {name: round(stats.negative_share(c), 4)
                                            for name, c in sorted(stats.by_aspect.items())},
               "alerts": [{"scope": a.scope, "key": a.key, "window": f"{a.window_negative}/{a.window_total}",
                           "baseline": f"{a.baseline_negative}/{a.baseline_total}", "p_value": a.p_value}
                          for a in analysis.alerts]}
    if as_json:
        print(json.dumps(figures, ensure_ascii=False))
        return
    print(f"batch {result.batch_id}: {result.rows} reviews ({result.skipped} skipped) in {result.seconds:.1f} s; "
          + ", ".join(f"{mood} {count}" for mood, count in sorted(stats.sentiments.items())))
    for problem in result.problems[:5]:
        print(f"  skipped {problem}")
    for alert in analysis.alerts:
        print(f"ALERT: negative reviews of {alert.scope} {alert.key!r}: {alert.window_negative}/{alert.window_total} "
              f"in the window against {alert.baseline_negative}/{alert.baseline_total} before (p={alert.p_value:.2g})")
    print(f"report: {analysis.report}")
