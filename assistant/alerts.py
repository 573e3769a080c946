"""Spike alerts: the share of negative messages or reviews for one intent, product or aspect has risen
significantly above its recent baseline.

The test, for each key with enough traffic: the last `window` (default 24 h) against the `baseline`
before it (default 14 days), a one-sided Fisher exact test of "the window's negative share is higher"
on the 2x2 table (negative, not negative) x (window, baseline). One check tests many keys at once, so
the significance level is Bonferroni-corrected (alpha / keys tested), and the rise must also be large
enough to act on (`min_lift`, in share points). A key alerts at most once per window. Tested keys need
`min_window` rows in the window and `min_baseline` in the baseline: a handful of messages proves nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from scipy.stats import fisher_exact
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from assistant import store
from assistant.errors import AssistantError
from assistant.tables import Alert, Message, Review, ReviewBatch, utcnow

log = logging.getLogger(__name__)
SOURCES = ("messages", "reviews")


@dataclass(frozen=True)
class AlertRule:
    window: timedelta = timedelta(hours=24)
    baseline: timedelta = timedelta(days=14)
    alpha: float = 0.01        # family-wise, per check (Bonferroni over the keys tested)
    min_window: int = 10       # rows of a key in the window before it is tested
    min_baseline: int = 20     # rows of a key in the baseline before it is tested
    min_lift: float = 0.10     # the window's negative share must exceed the baseline's by this much

    def __post_init__(self):
        if not 0 < self.alpha < 1 or self.min_window < 1 or self.min_baseline < 1 or not 0 <= self.min_lift < 1:
            raise ValueError(f"invalid alert rule {self}")
        if self.window <= timedelta(0) or self.baseline <= timedelta(0):
            raise ValueError("the alert window and baseline must be positive durations")

    @classmethod
    def from_settings(cls, settings) -> "AlertRule":
        return cls(window=timedelta(hours=settings.alert_window_hours), baseline=timedelta(days=settings.alert_baseline_days),
                   alpha=settings.alert_alpha, min_window=settings.alert_min_window,
                   min_baseline=settings.alert_min_baseline, min_lift=settings.alert_min_lift)

    def describe(self, tested: int) -> str:
        return (f"one-sided Fisher exact, last {_span(self.window)} vs the {_span(self.baseline)} before, "
                f"p < {self.alpha:g}/{tested} (Bonferroni), rise >= {self.min_lift:.0%}")


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:g} d" if hours >= 48 and hours % 24 == 0 else f"{hours:g} h"


@dataclass(frozen=True)
class Counts:
    window_negative: int = 0
    window_total: int = 0
    baseline_negative: int = 0
    baseline_total: int = 0


@dataclass(frozen=True)
class Spike:
    source: str
    scope: str
    key: str
    counts: Counts
    p_value: float


def p_value(counts: Counts) -> float:
    """One-sided Fisher exact p-value that the window's negative share exceeds the baseline's."""
    c = counts
    table = [[c.window_negative, c.window_total - c.window_negative],
             [c.baseline_negative, c.baseline_total - c.baseline_negative]]
    return float(fisher_exact(table, alternative="greater").pvalue)


def find_spikes(source: str, counts: dict[tuple[str, str], Counts], rule: AlertRule) -> tuple[list[Spike], int]:
    """The keys whose negative share rose significantly, and how many keys were tested."""
    tested = {key: c for key, c in counts.items()
              if c.window_total >= rule.min_window and c.baseline_total >= rule.min_baseline}
    spikes = []
    for (scope, key), c in sorted(tested.items()):
        lift = c.window_negative / c.window_total - c.baseline_negative / c.baseline_total
        if lift < rule.min_lift:
            continue
        p = p_value(c)
        if p < rule.alpha / len(tested):
            spikes.append(Spike(source, scope, key, c, p))
    return spikes, len(tested)


def _tally(rows, start: datetime, split: datetime) -> dict[tuple[str, str], Counts]:
    """Counts per key from (moment, [(scope, key, negative), ...]) rows."""
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for moment, keys in rows:
        if moment.tzinfo is None:  # SQLite returns naive datetimes; the store writes UTC
            moment = moment.replace(tzinfo=split.tzinfo)
        if moment < start:
            continue
        recent = moment >= split
        for scope, key, negative in keys:
            counts = tally[(scope, key)]
            counts[0 if recent else 2] += int(negative)
            counts[1 if recent else 3] += 1
    return {key: Counts(*values) for key, values in tally.items()}


def message_counts(session: Session, *, now: datetime, rule: AlertRule) -> dict[tuple[str, str], Counts]:
    """Customer messages per key: all, each intent, each product named (agents' corrections win)."""
    start, split = now - rule.window - rule.baseline, now - rule.window
    query = (select(Message.created_at, Message.intent, Message.corrected_intent, Message.sentiment,
                    Message.corrected_sentiment, Message.entities)
             .where(Message.role == "customer", Message.created_at >= start, Message.created_at < now)
             .execution_options(yield_per=1000))

    def rows():
        for created, intent, fixed_intent, sentiment, fixed_sentiment, entities in session.exec(query):
            negative = (fixed_sentiment or sentiment) == "negative"
            keys = [("all", "all", negative), ("intent", fixed_intent or intent or "unknown", negative)]
            keys += [("product", e["value"], negative) for e in entities or () if e.get("kind") == "product"]
            yield created, keys

    return _tally(rows(), start, split)


def review_counts(session: Session, *, now: datetime, rule: AlertRule) -> dict[tuple[str, str], Counts]:
    """Reviews per key: all, each product, each aspect (with the aspect's own sentiment).

    A review without a date counts at the time its batch was analysed.
    """
    start, split = now - rule.window - rule.baseline, now - rule.window
    moment = func.coalesce(Review.reviewed_at, ReviewBatch.created_at)
    query = (select(moment, Review.product, Review.sentiment, Review.aspects)
             .join(ReviewBatch, ReviewBatch.id == Review.batch_id)
             .where(moment >= start, moment < now).execution_options(yield_per=1000))

    def rows():
        for at, product, sentiment, aspects in session.exec(query):
            if isinstance(at, str):  # SQLite's COALESCE of two datetimes comes back as text
                at = datetime.fromisoformat(at)
            negative = sentiment == "negative"
            keys = [("all", "all", negative)]
            if product:
                keys.append(("product", product, negative))
            keys += [("aspect", aspect, mood == "negative") for aspect, mood in (aspects or {}).items()]
            yield at, keys

    return _tally(rows(), start, split)


def _recently_alerted(session: Session, *, now: datetime, rule: AlertRule) -> set[tuple[str, str, str]]:
    recent = session.exec(select(Alert.source, Alert.scope, Alert.key).where(Alert.window_end > now - rule.window))
    return {tuple(row) for row in recent}


def run_check(engine: Engine, *, rule: AlertRule | None = None, now: datetime | None = None,
              sources: tuple[str, ...] = SOURCES, webhook_url: str = "", webhook_timeout: float = 5.0) -> list[Alert]:
    """Test every key of every source; record (and POST to the webhook) each new spike. Returns the new alerts."""
    rule = rule or AlertRule()
    now = now or utcnow()
    created: list[Alert] = []
    with store.transaction(engine) as session:
        known = _recently_alerted(session, now=now, rule=rule)
        for source in sources:
            counts = (message_counts if source == "messages" else review_counts)(session, now=now, rule=rule)
            spikes, tested = find_spikes(source, counts, rule)
            for spike in spikes:
                if (spike.source, spike.scope, spike.key) in known:
                    continue
                alert = Alert(source=source, scope=spike.scope, key=spike.key[:200], window_start=now - rule.window,
                              window_end=now, p_value=spike.p_value, test=rule.describe(tested)[:200],
                              **asdict(spike.counts))
                session.add(alert)
                created.append(alert)
        session.flush()
        for alert in created:
            session.refresh(alert)
            session.expunge(alert)
    if webhook_url and created:
        for alert in created:
            alert.webhook = post_alert(webhook_url, alert, timeout=webhook_timeout)
        with store.transaction(engine) as session:
            for alert in created:
                session.get(Alert, alert.id).webhook = alert.webhook
    for alert in created:
        log.warning("alert: negative %s %s=%s rose to %d/%d (baseline %d/%d, p=%.2g)", alert.source, alert.scope,
                    alert.key, alert.window_negative, alert.window_total, alert.baseline_negative,
                    alert.baseline_total, alert.p_value)
    return created


def alert_payload(alert: Alert) -> dict:
    """The JSON a webhook receives."""
    share = lambda n, total: round(n / total, 4) if total else 0.0  # noqa: E731
    return {"event": "negative_sentiment_spike", "id": alert.id, "source": alert.source, "scope": alert.scope,
            "key": alert.key, "window_start": alert.window_start.isoformat(), "window_end": alert.window_end.isoformat(),
            "window": {"negative": alert.window_negative, "total": alert.window_total,
                       "share": share(alert.window_negative, alert.window_total)},
            "baseline": {"negative": alert.baseline_negative, "total": alert.baseline_total,
                         "share": share(alert.baseline_negative, alert.baseline_total)},
            "p_value": alert.p_value, "test": alert.test}


def post_alert(url: str, alert: Alert, *, timeout: float = 5.0) -> str:
    """POST the alert as JSON; returns what happened, in a few words (it never raises)."""
    request = urllib.request.Request(url, data=json.dumps(alert_payload(alert)).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return f"sent: HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        outcome = f"failed: HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        outcome = f"failed: {getattr(exc, 'reason', exc)}"[:200]
    log.error("alert webhook %s: %s", url, outcome)
    return outcome


def list_alerts(session: Session, *, since: datetime | None = None, limit: int = 200) -> list[Alert]:
    """Alerts, newest first."""
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    if since is not None:
        query = query.where(Alert.created_at >= since)
    return list(session.exec(query))


class PeriodicCheck:
    """Runs `run_check` every `seconds` in a daemon thread while a server runs (`start` / `stop`).

    `engine` is a function returning the store's engine, asked at each check (the server's models and store
    load on first use; a check must not be what loads them at startup).
    """

    def __init__(self, engine: Callable[[], Engine], settings, seconds: float):
        self.engine, self.settings, self.seconds = engine, settings, seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.seconds > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="alert-check", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                run_check(self.engine(), rule=AlertRule.from_settings(self.settings),
                          webhook_url=self.settings.alert_webhook_url)
            except (AssistantError, SQLAlchemyError) as exc:  # the store may be down: try again next time
                log.error("alert check failed: %s", exc)
