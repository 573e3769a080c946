"""Spike alerts: the share of negative messages or reviews for one intent, product or aspect has risen
significantly above its recent baseline.

The test, for each key with enough traffic: the last `window` (default 24 h) against the `baseline`
before it (default 14 days), a one-sided Fisher exact test of "the window's negative share is higher"
on the 2x2 table (negative, not negative) x (window, baseline). The units counted are conversations
(negative when any of their messages in that period was) and reviews: one angry customer writing twelve
messages is one negative conversation, not twelve observations. One check tests many keys of both
sources at once, so the significance level is Bonferroni-corrected (alpha / keys tested), and the rise
must also be large enough to act on (`min_lift`, in share points). A key alerts at most once per window.
The check repeats over overlapping windows, which adds false alarms up over time; the default level
(1e-4) was chosen on replays of real reviews (bench/review_analysis.py): no false alert in 3,610 clean
hourly checks, a burst caught after 11 hours.
Tested keys need `min_window` units in the window and `min_baseline` in the baseline.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from scipy.stats import fisher_exact
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from assistant import store
from assistant.tables import Alert, Message, Review, ReviewBatch, as_utc, utcnow

log = logging.getLogger(__name__)
SOURCES = ("messages", "reviews")


@dataclass(frozen=True)
class AlertRule:
    window: timedelta = timedelta(hours=24)
    baseline: timedelta = timedelta(days=14)
    alpha: float = 0.0001      # family-wise, per check (Bonferroni over the keys tested); see settings.alert_alpha
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


def find_spikes(counts: dict[tuple[str, str, str], Counts], rule: AlertRule) -> tuple[list[Spike], int]:
    """The (source, scope, key)s whose negative share rose significantly, and how many keys were tested."""
    tested = {key: c for key, c in counts.items()
              if c.window_total >= rule.min_window and c.baseline_total >= rule.min_baseline}
    spikes = []
    for (source, scope, key), c in sorted(tested.items()):
        lift = c.window_negative / c.window_total - c.baseline_negative / c.baseline_total
        if lift < rule.min_lift:
            continue
        p = p_value(c)
        if p < rule.alpha / len(tested):
            spikes.append(Spike(source, scope, key, c, p))
    return spikes, len(tested)


def _as_utc(moment: datetime | str) -> datetime:
    """A stored time as an aware UTC datetime (SQLite returns naive ones, or text from COALESCE)."""
    return as_utc(datetime.fromisoformat(moment) if isinstance(moment, str) else moment)


def _tally(rows, start: datetime, split: datetime) -> dict[tuple[str, str], Counts]:
    """Counts per key from (moment, unit, [(scope, key, negative), ...]) rows: a unit (a conversation, a review)
    counts once per key and period, negative when any of its rows there was."""
    units: dict[tuple[str, str], tuple[dict, dict]] = defaultdict(lambda: ({}, {}))
    for moment, unit, keys in rows:
        moment = _as_utc(moment)
        if moment < start:
            continue
        period = 0 if moment >= split else 1
        for scope, key, negative in keys:
            seen = units[(scope, key)][period]
            seen[unit] = seen.get(unit, False) or negative
    return {key: Counts(sum(window.values()), len(window), sum(baseline.values()), len(baseline))
            for key, (window, baseline) in units.items()}


def message_counts(session: Session, *, now: datetime, rule: AlertRule) -> dict[tuple[str, str], Counts]:
    """Conversations per key (all, each intent, each product named) from their customer messages; agents'
    corrections win."""
    start, split = now - rule.window - rule.baseline, now - rule.window
    query = (select(Message.created_at, Message.conversation_id, Message.intent, Message.corrected_intent,
                    Message.sentiment, Message.corrected_sentiment, Message.entities)
             .where(Message.role == "customer", Message.created_at >= start, Message.created_at < now)
             .execution_options(yield_per=1000))

    def rows():
        for created, conversation, intent, fixed_intent, sentiment, fixed_sentiment, entities in session.exec(query):
            negative = (fixed_sentiment or sentiment) == "negative"
            keys = [("all", "all", negative), ("intent", fixed_intent or intent or "unknown", negative)]
            keys += [("product", e["value"], negative) for e in entities or () if e.get("kind") == "product"]
            yield created, conversation, keys

    return _tally(rows(), start, split)


def review_counts(session: Session, *, now: datetime, rule: AlertRule) -> dict[tuple[str, str], Counts]:
    """Reviews per key: all, each product, each aspect (with the aspect's own sentiment).

    A review without a date counts at the time its batch was analysed.
    """
    start, split = now - rule.window - rule.baseline, now - rule.window
    moment = func.coalesce(Review.reviewed_at, ReviewBatch.created_at)
    query = (select(moment, Review.id, Review.product, Review.sentiment, Review.aspects)
             .join(ReviewBatch, ReviewBatch.id == Review.batch_id)
             .where(moment >= start, moment < now).execution_options(yield_per=1000))

    def rows():
        for at, review, product, sentiment, aspects in session.exec(query):
            negative = sentiment == "negative"
            keys = [("all", "all", negative)]
            if product:
                keys.append(("product", product, negative))
            keys += [("aspect", aspect, mood == "negative") for aspect, mood in (aspects or {}).items()]
            yield at, review, keys

    return _tally(rows(), start, split)


def _recently_alerted(session: Session, *, now: datetime, rule: AlertRule) -> set[tuple[str, str, str]]:
    recent = session.exec(select(Alert.source, Alert.scope, Alert.key).where(Alert.window_end > now - rule.window))
    return {tuple(row) for row in recent}


# One check at a time in a process (the periodic thread, an upload, "Check now"): the test for an alert
# already recorded and the insert must not interleave.
_CHECKING = threading.Lock()


def run_check(engine: Engine, *, rule: AlertRule | None = None, now: datetime | None = None,
              sources: tuple[str, ...] = SOURCES, webhook_url: str = "", webhook_timeout: float = 5.0) -> list[Alert]:
    """Test every key of every source together; record (and POST to the webhook) each new spike.

    Returns the new alerts.
    """
    rule = rule or AlertRule()
    now = now or utcnow()
    created: list[Alert] = []
    with _CHECKING, store.transaction(engine) as session:
        known = _recently_alerted(session, now=now, rule=rule)
        counts = {}
        for source in sources:
            found = (message_counts if source == "messages" else review_counts)(session, now=now, rule=rule)
            counts |= {(source, scope, key): c for (scope, key), c in found.items()}
        spikes, tested = find_spikes(counts, rule)
        for spike in spikes:
            if (spike.source, spike.scope, spike.key[:200]) in known:
                continue
            alert = Alert(source=spike.source, scope=spike.scope, key=spike.key[:200], window_start=now - rule.window,
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
            "key": alert.key, "window_start": _as_utc(alert.window_start).isoformat(),
            "window_end": _as_utc(alert.window_end).isoformat(),
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
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        outcome = f"failed: {getattr(exc, 'reason', None) or type(exc).__name__}"[:200]
    # The host only: a webhook URL's path often is its secret (Slack-style incoming webhooks).
    log.error("alert webhook to %s: %s", urllib.parse.urlsplit(url).hostname, outcome)
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
            except Exception:  # noqa: BLE001 - a background loop that stops on one bad check stops for good
                log.exception("alert check failed; trying again in %.0f s", self.seconds)
