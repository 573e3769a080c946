"""One review file end to end, for `assistant analyze reviews` and the dashboard's upload: choose the
sentiment reader, analyse and store the file, write its report, check for spikes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from assistant import reviews, store
from assistant.alerts import AlertRule, run_check
from assistant.aspects import load_aspects
from assistant.registry import Registry
from assistant.review_files import Columns, ReviewFile
from assistant.review_model import ReviewModel
from assistant.router import Router
from assistant.settings import Settings
from assistant.tables import Alert
from retrieval.embedder import Embedder
from retrieval.knowledge import Knowledge


class RouterSentiment:
    """The router's sentiment head as a review reader (for shops without a trained review model)."""

    def __init__(self, router: Router, name: str):
        self.router, self.name = router, name

    def read(self, texts):
        return self.router.sentiments(texts)


def sentiment_reader(settings: Settings, knowledge: Knowledge, *, embedder: Callable[[], Embedder],
                     router: Router | None = None):
    """The active review model (`assistant train reviews`), else the router or classifier serving the chat.

    `embedder` is called only when a model needs one; `router` is the running assistant's, when there is one.
    """
    registry = Registry(settings.models_dir)
    version = registry.active_version("reviews")
    if version:
        folder = registry.folder("reviews", version)
        model = ReviewModel(folder, name=f"reviews/{version}")
        if model.config.get("embedder"):
            model = ReviewModel(folder, name=f"reviews/{version}", embedder=embedder())
        return model
    if router is None:
        kind = "classifier" if registry.active_version("classifier") else "router"
        router = Router(registry.active_folder(kind), embedder(), order_id_pattern=knowledge.shop.order_id_pattern,
                        min_confidence=settings.min_intent_confidence, int8=settings.classifier_int8)
        name = f"{kind}/{registry.active_version(kind)}"
    else:
        name = f"router {router.folder.parent.name}/{router.folder.name}"
    return RouterSentiment(router, name)


@dataclass(frozen=True)
class Analysis:
    result: reviews.BatchResult
    report: Path
    alerts: list[Alert]
    model: str


def analyse_reviews(settings: Settings, engine: Engine, knowledge: Knowledge, path: Path, *, reader,
                    columns: Columns | None = None, out: Path | None = None, name: str | None = None,
                    progress: Callable[[int, int], None] | None = None) -> Analysis:
    """Analyse `path`, store it as a batch, write the report (into `out`, or the home's reports folder) and
    run the spike check on reviews."""
    review_file = ReviewFile(path, columns=columns or Columns(), max_chars=settings.max_message_chars)
    analyzer = reviews.ReviewAnalyzer(reader, aspects=load_aspects(settings.knowledge_dir),
                                      products=knowledge.shop.products, max_chars=settings.max_message_chars)
    result = reviews.analyse_file(engine, review_file, analyzer, name=name, progress=progress)
    folder = Path(out) if out else settings.home / "reports" / "reviews" / f"batch-{result.batch_id:05d}"
    report = _report(result, folder, name or Path(path).name, reader.name)
    with store.transaction(engine) as session:
        reviews.set_report(session, batch_id=result.batch_id, report_dir=str(folder))
    alerts = run_check(engine, rule=AlertRule.from_settings(settings), sources=("reviews",),
                       webhook_url=settings.alert_webhook_url)
    return Analysis(result, report, alerts, reader.name)


def _report(result: reviews.BatchResult, folder: Path, title: str, model: str) -> Path:
    from ui.review_report import write_report

    return write_report(result.stats, folder, title=title, skipped=result.skipped, problems=result.problems,
                        model=model, seconds=result.seconds)


def train_review_version(settings: Settings, path: Path, *, args, columns: Columns | None = None,
                         embedder: Callable[[], Embedder], log: Callable[[str], None] = print,
                         progress: bool = False, activate: bool = True) -> tuple[str, dict]:
    """Train a review model on a labelled (or rated) review file into a new registry version."""
    from finetune.reviews import labelled_reviews, train_review_model

    review_file = ReviewFile(path, columns=columns or Columns(), max_chars=settings.max_message_chars)
    log(f"Reading labelled reviews from {review_file.path.name} ...")
    texts, labels, products = labelled_reviews(review_file)
    if review_file.skipped:
        log(f"{review_file.skipped} rows skipped: {'; '.join(review_file.problems[:3])}")
    registry = Registry(settings.models_dir)
    registry.clean_stale("reviews")
    staged = registry.staging("reviews")
    try:
        metrics = train_review_model(texts, labels, staged, products=products, args=args,
                                     embedder=embedder() if args.encoder else None, log=log, progress=progress)
    except BaseException:
        registry.discard(staged)
        raise
    metrics["skipped"] = review_file.skipped
    version = registry.register("reviews", staged, {"metrics": metrics, "data": review_file.path.name},
                                activate=activate)
    return version, metrics
