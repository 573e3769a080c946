"""Product reviews in, what customers think of each product and aspect out.

`analyse_file` streams a review file through the `ReviewAnalyzer` a chunk at a time (masking personal
data, reading each review's sentiment, the aspects its clauses name and the catalog products it
mentions), stores each chunk in one transaction and keeps running figures in `ReviewStats`, so memory
does not grow with the file. `batch_stats` rebuilds the same figures from the store for the dashboard.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from assistant import store
from assistant.aspects import aspects_in, clauses
from assistant.entities import product_mentions
from assistant.errors import EXPECTED_ERRORS, InvalidInput
from assistant.pii import mask_and_cut
from assistant.review_files import RawReview, ReviewFile
from assistant.review_model import SentimentReader
from assistant.types import Reading
from assistant.tables import Review, ReviewBatch, utcnow
from retrieval.language import detect_language

CHUNK = 256
WORST_KEPT = 10


@dataclass(frozen=True)
class AnalysedReview:
    line: int
    text: str                    # masked
    product: str | None
    reviewed_at: object          # datetime | None
    rating: float | None
    lang: str
    sentiment: str
    negative_score: float
    aspects: dict[str, str]      # aspect -> the sentiment of the clauses naming it
    mentions: tuple[str, ...]    # catalog products the text names


class ReviewAnalyzer:
    """Reads reviews with one sentiment reader, an aspect lexicon and the shop's product catalog.

    Example:
        >>> analyzer = ReviewAnalyzer(ReviewModel(folder), aspects=DEFAULT_ASPECTS, products=shop.products)
        >>> analyzer.analyse([RawReview(1, "物流很快，但是质量很差")])[0].aspects
        {'quality': 'negative', 'delivery': 'positive'}
    """

    def __init__(self, reader: SentimentReader, *, aspects: dict[str, tuple[str, ...]],
                 products: dict[str, tuple[str, ...]] | None = None, max_chars: int = 2000):
        self.reader = reader
        self.max_chars = max_chars
        self.aspects = aspects
        self.products = products or {}

    def analyse(self, reviews: list[RawReview]) -> list[AnalysedReview]:
        texts = [mask_and_cut(r.text, self.max_chars)[0].text for r in reviews]
        whole = self.reader.read(texts)
        # Each aspect takes the sentiment of the clauses that name it; a one-clause review is its own clause.
        named: list[dict[str, list[str]]] = []
        to_read: dict[str, None] = {}
        for text in texts:
            parts = clauses(text)
            found: dict[str, list[str]] = defaultdict(list)
            for part in parts:
                for aspect in aspects_in(part, self.aspects):
                    found[aspect].append(part)
                    if len(parts) > 1:
                        to_read[part] = None
            named.append(found)
        clause_list = list(to_read)
        clause_reading = dict(zip(clause_list, self.reader.read(clause_list)))
        out = []
        for raw, text, reading, found in zip(reviews, texts, whole, named):
            aspects = {}
            for aspect, parts in found.items():
                read = [clause_reading.get(part, reading) for part in parts]
                aspects[aspect] = aspect_sentiment(read)
            mentions = tuple(dict.fromkeys(name for _, name in product_mentions(text, self.products)))
            out.append(AnalysedReview(raw.line, text, raw.product, raw.date, raw.rating, detect_language(text),
                                      reading.sentiment, round(reading.negative_score, 4), aspects, mentions))
        return out


def aspect_sentiment(readings: list[Reading]) -> str:
    """The sentiment of the clauses naming one aspect: the commonest label; a tie goes to the label whose
    clauses lean more negative (so "fast delivery" + "delivery lost my parcel" reads negative)."""
    labels = Counter(r.sentiment for r in readings)
    lean = {label: max(r.negative_score for r in readings if r.sentiment == label) for label in labels}
    return max(labels, key=lambda label: (labels[label], lean[label]))


@dataclass
class ReviewStats:
    """Running figures of a batch: bounded by the number of products, aspects and days, not of reviews."""

    total: int = 0
    sentiments: Counter = field(default_factory=Counter)
    by_product: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    by_aspect: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    by_day: dict[date, Counter] = field(default_factory=lambda: defaultdict(Counter))
    negative_mentions: Counter = field(default_factory=Counter)
    _worst: list = field(default_factory=list)   # a heap of (negative score, line, text, product)

    def add(self, *, line: int, text: str, product: str | None, reviewed_at, sentiment: str, negative_score: float,
            aspects: dict | None, mentions) -> None:
        self.total += 1
        self.sentiments[sentiment] += 1
        if product:
            self.by_product[product][sentiment] += 1
        for aspect, mood in (aspects or {}).items():
            self.by_aspect[aspect][mood] += 1
        if reviewed_at is not None:
            self.by_day[reviewed_at.date()][sentiment] += 1
        if sentiment == "negative":
            self.negative_mentions.update(mentions or ())
        item = (negative_score, -line, text[:300], product)
        if len(self._worst) < WORST_KEPT:
            heapq.heappush(self._worst, item)
        elif item > self._worst[0]:
            heapq.heapreplace(self._worst, item)

    def add_review(self, review: AnalysedReview) -> None:
        self.add(line=review.line, text=review.text, product=review.product, reviewed_at=review.reviewed_at,
                 sentiment=review.sentiment, negative_score=review.negative_score, aspects=review.aspects,
                 mentions=review.mentions)

    @property
    def most_negative(self) -> list[tuple[float, str, str | None]]:
        """(negative score, text, product) of the most negative reviews, most negative first."""
        return [(score, text, product) for score, _, text, product in sorted(self._worst, reverse=True)]

    def negative_share(self, counts: Counter) -> float:
        total = sum(counts.values())
        return counts["negative"] / total if total else 0.0


@dataclass(frozen=True)
class BatchResult:
    batch_id: int
    rows: int
    skipped: int
    problems: list[str]
    stats: ReviewStats
    seconds: float


def analyse_file(engine: Engine, review_file: ReviewFile, analyzer: ReviewAnalyzer, *, name: str | None = None,
                 progress: Callable[[int, int], None] | None = None, chunk: int = CHUNK) -> BatchResult:
    """Analyse and store every readable review of `review_file`, one transaction per chunk.

    `progress(bytes_read, bytes_total)` is called after each chunk. A failure part-way marks the batch
    failed with the error and keeps the chunks already stored; it is raised again for the caller.
    """
    started = time.perf_counter()
    with store.transaction(engine) as session:
        batch = ReviewBatch(name=(name or review_file.path.name)[:200], model=getattr(analyzer.reader, "name", None))
        session.add(batch)
        session.flush()
        batch_id = batch.id
    stats, rows = ReviewStats(), 0
    try:
        pending: list[RawReview] = []
        for raw in review_file:
            pending.append(raw)
            if len(pending) >= chunk:
                rows += _store_chunk(engine, batch_id, analyzer.analyse(pending), stats)
                pending = []
                if progress:
                    progress(review_file.bytes_read, review_file.size)
        if pending:
            rows += _store_chunk(engine, batch_id, analyzer.analyse(pending), stats)
        if rows == 0:
            raise InvalidInput(f"{review_file.path.name} has no readable review "
                               f"({review_file.skipped} rows skipped: {'; '.join(review_file.problems[:3]) or 'empty'})")
    except BaseException as exc:  # whatever stopped it (a bad file, the store, Ctrl-C): the batch says so
        _finish(engine, batch_id, rows, review_file.skipped, status="failed",
                error=(str(exc) if isinstance(exc, (*EXPECTED_ERRORS, OSError)) else type(exc).__name__)[:500])
        raise
    _finish(engine, batch_id, rows, review_file.skipped, status="done")
    if progress:
        progress(review_file.size, review_file.size)
    return BatchResult(batch_id, rows, review_file.skipped, list(review_file.problems), stats,
                       round(time.perf_counter() - started, 2))


def _store_chunk(engine: Engine, batch_id: int, reviews: list[AnalysedReview], stats: ReviewStats) -> int:
    with store.transaction(engine) as session:
        session.add_all([Review(batch_id=batch_id, text=r.text, product=r.product, reviewed_at=r.reviewed_at,
                                rating=r.rating, lang=r.lang, sentiment=r.sentiment, negative_score=r.negative_score,
                                aspects=r.aspects or None, mentions=list(r.mentions) or None) for r in reviews])
    for review in reviews:
        stats.add_review(review)
    return len(reviews)


def _finish(engine: Engine, batch_id: int, rows: int, skipped: int, *, status: str, error: str | None = None) -> None:
    with store.transaction(engine) as session:
        batch = session.get(ReviewBatch, batch_id)
        batch.rows, batch.skipped, batch.status, batch.error, batch.finished_at = rows, skipped, status, error, utcnow()


def set_report(session: Session, *, batch_id: int, report_dir: str) -> None:
    batch = session.get(ReviewBatch, batch_id)
    if batch is None:
        raise InvalidInput(f"there is no review batch {batch_id}")
    batch.report_dir = report_dir


def list_batches(session: Session, *, limit: int = 50) -> list[ReviewBatch]:
    """The latest review batches, newest first."""
    return list(session.exec(select(ReviewBatch).order_by(ReviewBatch.id.desc()).limit(limit)))


def batch_stats(session: Session, *, batch_id: int) -> ReviewStats:
    """A stored batch's figures, read back a thousand rows at a time."""
    stats = ReviewStats()
    query = (select(Review.id, Review.text, Review.product, Review.reviewed_at, Review.sentiment, Review.negative_score,
                    Review.aspects, Review.mentions)
             .where(Review.batch_id == batch_id).order_by(Review.id).execution_options(yield_per=1000))
    for row in session.exec(query):
        stats.add(line=row.id, text=row.text, product=row.product, reviewed_at=row.reviewed_at, sentiment=row.sentiment,
                  negative_score=row.negative_score, aspects=row.aspects, mentions=row.mentions)
    return stats
