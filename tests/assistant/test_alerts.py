import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from assistant import store
from assistant.alerts import AlertRule, Counts, find_spikes, list_alerts, p_value, review_counts, run_check
from assistant.tables import Conversation, Message, Review, ReviewBatch

NOW = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)


def _messages(engine, intent: str, *, negative: int, total: int, start: datetime, span: timedelta, product=None,
              one_conversation=False):
    """`total` customer messages (`negative` of them negative), each from its own customer unless told otherwise."""
    with store.transaction(engine) as session:
        conversation = None
        for i in range(total):
            if conversation is None or not one_conversation:
                conversation = Conversation()
                session.add(conversation)
                session.flush()
            entities = [{"kind": "product", "value": product}] if product else None
            session.add(Message(conversation_id=conversation.id, role="customer", text=f"{intent} {i}", intent=intent,
                                sentiment="negative" if i < negative else "neutral", entities=entities,
                                created_at=start + span * (i / total)))


def test_the_test_tells_a_rise_from_noise():
    assert p_value(Counts(12, 20, 20, 200)) < 1e-6          # 60% against 10%
    assert p_value(Counts(2, 20, 20, 200)) > 0.5            # 10% against 10%
    assert p_value(Counts(0, 20, 100, 200)) == pytest.approx(1.0)


def test_bonferroni_min_counts_and_min_lift_decide_what_alerts():
    rule = AlertRule(alpha=0.01, min_window=10, min_baseline=20, min_lift=0.10)
    counts = {("messages", "intent", "delivery"): Counts(9, 15, 20, 200),     # 60% vs 10%: alerts
              ("messages", "intent", "rare"): Counts(9, 9, 0, 200),           # too few in the window: not tested
              ("reviews", "aspect", "small_rise"): Counts(300, 2000, 2000, 20000),  # p < 1e-10, but 15% vs 10%
              ("reviews", "product", "calm"): Counts(1, 15, 20, 200)}
    spikes, tested = find_spikes(counts, rule)
    assert tested == 3 and [(s.source, s.scope, s.key) for s in spikes] == [("messages", "intent", "delivery")]
    assert spikes[0].p_value < 0.01 / 3 and p_value(counts[("reviews", "aspect", "small_rise")]) < 1e-10
    # The same rise alerts when few keys are tested, and not when the correction divides alpha among many,
    # whichever source they come from.
    borderline = Counts(5, 10, 20, 200)
    assert find_spikes({("messages", "intent", "x"): borderline}, rule)[0]
    many = {("reviews", "product", f"k{i}"): Counts(1, 10, 20, 200) for i in range(500)}
    assert p_value(borderline) > 0.01 / 501 and find_spikes(many | {("messages", "intent", "x"): borderline}, rule)[0] == []


def test_one_customer_writing_many_angry_messages_is_one_negative_conversation(engine):
    _messages(engine, "delivery", negative=10, total=100, start=NOW - timedelta(days=14), span=timedelta(days=13))
    _messages(engine, "delivery", negative=12, total=12, start=NOW - timedelta(hours=5), span=timedelta(hours=1),
              one_conversation=True)
    _messages(engine, "delivery", negative=0, total=9, start=NOW - timedelta(hours=3), span=timedelta(hours=2))
    assert run_check(engine, now=NOW, sources=("messages",)) == []
    with store.transaction(engine) as session:
        from assistant.alerts import message_counts

        assert message_counts(session, now=NOW, rule=AlertRule())[("intent", "delivery")] == Counts(1, 10, 10, 100)


def test_a_burst_of_negative_messages_alerts_once_and_reaches_the_webhook(engine):
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _messages(engine, "delivery", negative=10, total=100, start=NOW - timedelta(days=14), span=timedelta(days=13))
        _messages(engine, "delivery", negative=12, total=20, start=NOW - timedelta(hours=20), span=timedelta(hours=19),
                  product="Laptop")
        _messages(engine, "billing", negative=10, total=100, start=NOW - timedelta(days=14), span=timedelta(days=14))
        _messages(engine, "delivery", negative=30, total=30, start=NOW - timedelta(days=40), span=timedelta(days=5))
        url = f"http://127.0.0.1:{server.server_port}/hook"
        alerts = run_check(engine, now=NOW, rule=AlertRule(), sources=("messages",), webhook_url=url)
        # All messages rise too (12/27 against 20/193); Laptop has no baseline; the old burst is outside the baseline.
        assert [(a.scope, a.key) for a in alerts] == [("all", "all"), ("intent", "delivery")]
        alert = alerts[1]
        assert (alert.window_negative, alert.window_total, alert.baseline_negative, alert.baseline_total) == (12, 20, 10, 100)
        assert alert.webhook == "sent: HTTP 204" and "Fisher" in alert.test
        assert received[1]["key"] == "delivery" and received[1]["window"] == {"negative": 12, "total": 20, "share": 0.6}
        # The same spike an hour later is the same alert, not a new one.
        assert run_check(engine, now=NOW + timedelta(hours=1), rule=AlertRule(), sources=("messages",)) == []
        with store.transaction(engine) as session:
            assert sorted(a.key for a in list_alerts(session)) == ["all", "delivery"]
    finally:
        server.shutdown()


def test_a_dead_webhook_is_recorded_and_the_alert_kept(engine):
    _messages(engine, "refund", negative=5, total=100, start=NOW - timedelta(days=10), span=timedelta(days=9))
    _messages(engine, "refund", negative=15, total=20, start=NOW - timedelta(hours=5), span=timedelta(hours=4))
    alerts = run_check(engine, now=NOW, sources=("messages",), webhook_url="http://127.0.0.1:9/none",
                       webhook_timeout=1.0)
    assert alerts and alerts[0].webhook.startswith("failed")
    with store.transaction(engine) as session:
        assert list_alerts(session)[0].webhook.startswith("failed")


def test_reviews_count_per_product_and_aspect_and_undated_ones_at_their_batch_time(engine):
    with store.transaction(engine) as session:
        batch = ReviewBatch(name="r.csv", created_at=NOW - timedelta(hours=2))
        session.add(batch)
        session.flush()
        for i in range(40):
            session.add(Review(batch_id=batch.id, text="x", product="手机", reviewed_at=NOW - timedelta(days=3, hours=i),
                               sentiment="positive", negative_score=0.1, aspects={"delivery": "positive"}))
        for i in range(12):
            session.add(Review(batch_id=batch.id, text="x", product="手机", reviewed_at=None, sentiment="negative",
                               negative_score=0.9, aspects={"delivery": "negative", "price": "positive"}))
    with store.transaction(engine) as session:
        counts = review_counts(session, now=NOW, rule=AlertRule())
    assert counts[("product", "手机")] == Counts(12, 12, 0, 40)
    assert counts[("aspect", "delivery")] == Counts(12, 12, 0, 40) and counts[("aspect", "price")] == Counts(0, 12, 0, 0)
    alerts = run_check(engine, now=NOW, sources=("reviews",))
    assert {(a.scope, a.key) for a in alerts} == {("all", "all"), ("product", "手机"), ("aspect", "delivery")}


def test_rules_refuse_nonsense():
    with pytest.raises(ValueError):
        AlertRule(alpha=0)
    with pytest.raises(ValueError):
        AlertRule(window=timedelta(0))


def test_the_periodic_check_records_spikes_while_running(engine):
    import time

    from assistant.alerts import PeriodicCheck
    from assistant.settings import Settings

    now = datetime.now(timezone.utc)
    _messages(engine, "delivery", negative=10, total=100, start=now - timedelta(days=10), span=timedelta(days=9))
    _messages(engine, "delivery", negative=15, total=20, start=now - timedelta(hours=3), span=timedelta(hours=2))
    checker = PeriodicCheck(lambda: engine, Settings(), seconds=0.05)
    checker.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with store.transaction(engine) as session:
                if list_alerts(session):
                    break
            time.sleep(0.05)
    finally:
        checker.stop()
    with store.transaction(engine) as session:
        assert {a.key for a in list_alerts(session)} >= {"delivery"}
    assert not checker._thread.is_alive()
