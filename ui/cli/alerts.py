"""`assistant alerts check|list`: spikes of negative messages and reviews (assistant/alerts.py)."""

from __future__ import annotations

import json

import typer

from ui.cli.common import domain_errors, migrated_engine, settings

app = typer.Typer(help="Negative-sentiment spike alerts.", no_args_is_help=True)


def _row(alert) -> dict:
    return {"id": alert.id, "created_at": alert.created_at.isoformat(), "source": alert.source, "scope": alert.scope,
            "key": alert.key, "window": [alert.window_negative, alert.window_total],
            "baseline": [alert.baseline_negative, alert.baseline_total], "p_value": alert.p_value,
            "test": alert.test, "webhook": alert.webhook}


@app.command("check")
@domain_errors
def check(as_json: bool = typer.Option(False, "--json", help="Print the new alerts as JSON.")) -> None:
    """Test messages and reviews for a significant rise of negatives now; record and send new alerts."""
    from assistant.alerts import AlertRule, run_check

    config = settings()
    alerts = run_check(migrated_engine(), rule=AlertRule.from_settings(config), webhook_url=config.alert_webhook_url)
    if as_json:
        print(json.dumps([_row(a) for a in alerts], ensure_ascii=False))
        return
    for alert in alerts:
        print(f"ALERT {alert.source} {alert.scope}={alert.key}: {alert.window_negative}/{alert.window_total} negative "
              f"against {alert.baseline_negative}/{alert.baseline_total} before (p={alert.p_value:.2g})"
              + (f"; webhook {alert.webhook}" if alert.webhook else ""))
    if not alerts:
        print("no new spike")


@app.command("list")
@domain_errors
def list_all(limit: int = typer.Option(50, min=1, help="How many, newest first."),
             as_json: bool = typer.Option(False, "--json", help="Print them as JSON.")) -> None:
    """The alerts recorded so far, newest first."""
    from assistant import store
    from assistant.alerts import list_alerts

    with store.transaction(migrated_engine()) as session:
        rows = [_row(a) for a in list_alerts(session, limit=limit)]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        print(f"#{r['id']} {r['created_at'][:16]} {r['source']} {r['scope']}={r['key']}: {r['window'][0]}/{r['window'][1]} "
              f"vs {r['baseline'][0]}/{r['baseline'][1]} (p={r['p_value']:.2g})")
    if not rows:
        print("no alerts")
