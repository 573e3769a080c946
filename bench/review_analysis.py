"""Review analysis on real Chinese product reviews (../shared/data/online_shopping_10_cats): sentiment
accuracy per product category and reviews per second, side by side with the TF-IDF + linear SVM baseline of
../shared/FINDINGS.md, the router's zero-shot reading, and the spike alert on a replay of one category.

    python bench/review_analysis.py [--category 水果] [--router-sample 1000] [--skip-router] [--json-only]

Prints one JSON object last. Needs the data set (it is never copied into the repository).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "online_shopping_10_cats" / "online_shopping_10_cats.zip"
LABELS = {"1": "positive", "0": "negative"}
REPLAY_START = datetime(2026, 10, 1, tzinfo=timezone.utc)


def load_reviews() -> list[dict]:
    with zipfile.ZipFile(DATA) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        rows = csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8-sig"))
        return [r for r in rows if r["review"] and r["review"].strip()]


def write_csv(path: Path, rows: list[dict], dates: list[datetime] | None = None) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["product", "label", "date", "review"])
        for i, r in enumerate(rows):
            writer.writerow([r["cat"], r["label"], dates[i].isoformat() if dates else "", r["review"].strip()])
    return path


def per_category(rows: list[dict], predicted: list[str]) -> dict:
    groups: dict[str, list[bool]] = defaultdict(list)
    for row, label in zip(rows, predicted):
        groups[row["cat"]].append(LABELS[row["label"]] == label)
    return {cat: {"n": len(hits), "accuracy": round(float(np.mean(hits)), 4)} for cat, hits in sorted(groups.items())}


def svm_baseline(train: list[dict], test: list[dict]) -> tuple[list[str], float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    started = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    model = LinearSVC().fit(vectorizer.fit_transform([r["review"] for r in train]), [LABELS[r["label"]] for r in train])
    predicted = list(model.predict(vectorizer.transform([r["review"] for r in test])))
    return predicted, time.perf_counter() - started


def stored_sentiments(engine, batch_id: int) -> list[str]:
    from sqlmodel import Session, select

    from assistant.tables import Review

    with Session(engine) as session:
        return list(session.exec(select(Review.sentiment).where(Review.batch_id == batch_id).order_by(Review.id)))


def replay(settings, engine, knowledge, reader, rows: list[dict], folder: Path, *, days: int, burst: list[dict],
           burst_day: int, burst_hours: int) -> dict:
    """Analyse `rows` spread evenly over `days` (plus `burst` spread over `burst_hours` from `burst_day`), then run
    the alert check every simulated hour after the first 14 days; returns when and what it alerted."""
    from assistant.alerts import AlertRule, run_check
    from ui.review_analysis import analyse_reviews

    span = timedelta(days=days)
    dated = [(REPLAY_START + span * (i + 0.5) / len(rows), r) for i, r in enumerate(rows)]
    burst_start = REPLAY_START + timedelta(days=burst_day)
    dated += [(burst_start + timedelta(hours=burst_hours) * (i + 0.5) / len(burst), r) for i, r in enumerate(burst)]
    dated.sort(key=lambda pair: pair[0])
    path = write_csv(folder / f"replay-{len(burst)}.csv", [r for _, r in dated], [d for d, _ in dated])
    analyse_reviews(settings, engine, knowledge, path, reader=reader, out=folder / f"replay-report-{len(burst)}")
    rule = AlertRule.from_settings(settings)
    alerts, checks = [], 0
    moment = REPLAY_START + rule.baseline + rule.window
    while moment <= REPLAY_START + span:
        found = run_check(engine, rule=rule, now=moment, sources=("reviews",))
        alerts += [(moment, a) for a in found]
        checks += 1
        moment += timedelta(hours=1)
    first = next(((m, a) for m, a in alerts if m >= burst_start), None) if burst else None
    return {"reviews": len(dated), "checks": checks, "alerts": [
        {"at_hour": round((m - REPLAY_START).total_seconds() / 3600), "scope": a.scope, "key": a.key,
         "window": f"{a.window_negative}/{a.window_total}", "baseline": f"{a.baseline_negative}/{a.baseline_total}",
         "p_value": float(f"{a.p_value:.3g}")} for m, a in alerts],
        "false_alerts_before_burst": sum(1 for m, _ in alerts if not burst or m < burst_start),
        "hours_to_alert": round((first[0] - burst_start).total_seconds() / 3600, 1) if first else None,
        "burst_reviews_seen": (sum(1 for d, r in dated if burst_start <= d < first[0] and r in burst) if first else None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--category", default="水果", help="The category replayed for the alert demonstration.")
    parser.add_argument("--router-sample", type=int, default=1000, help="Test reviews read by the router (e5 is slow).")
    parser.add_argument("--skip-router", action="store_true", help="Skip the router's zero-shot reading.")
    parser.add_argument("--replay-days", type=int, default=30)
    parser.add_argument("--burst", type=int, default=120, help="Negative reviews injected into the replay.")
    parser.add_argument("--burst-hours", type=int, default=12)
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args()
    if not DATA.is_file():
        sys.exit(f"skipped: {DATA} is missing (see ../shared/data/README.md)")
    say = (lambda *_: None) if args.json_only else (lambda *a: print(*a, file=sys.stderr, flush=True))

    from sklearn.model_selection import train_test_split

    from assistant import store
    from assistant.settings import Settings
    from finetune.args import ReviewTrainingArgs
    from retrieval.knowledge import load_knowledge
    from ui.review_analysis import analyse_reviews, sentiment_reader, train_review_version

    rows = load_reviews()
    train_idx, test_idx = train_test_split(np.arange(len(rows)), test_size=0.2, random_state=0)  # FINDINGS' split
    train, test = [rows[i] for i in train_idx], [rows[i] for i in test_idx]
    truth = [LABELS[r["label"]] for r in test]
    out: dict = {"data": {"train": len(train), "test": len(test), "split": "random 80/20, seed 0"}}

    say("TF-IDF character 1-3-grams + LinearSVC (the baseline) ...")
    svm_predicted, svm_seconds = svm_baseline(train, test)
    out["baseline_tfidf_svm"] = {"accuracy": round(float(np.mean([p == t for p, t in zip(svm_predicted, truth)])), 4),
                                 "per_category": per_category(test, svm_predicted), "train_and_predict_seconds":
                                 round(svm_seconds, 1)}

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        settings = Settings(home=home, alert_check_seconds=0)
        knowledge = load_knowledge(settings.knowledge_dir)
        say("assistant train reviews (the review model) on the training split ...")
        started = time.perf_counter()
        version, metrics = train_review_version(settings, write_csv(Path(tmp) / "train.csv", train),
                                                args=ReviewTrainingArgs(holdout_fraction=0), embedder=lambda: None,
                                                log=say)
        train_seconds = time.perf_counter() - started
        engine = store.make_engine(settings.db_url)
        store.migrate(engine)
        reader = sentiment_reader(settings, knowledge, embedder=lambda: None)
        say("assistant analyze reviews on the test split ...")
        analysis = analyse_reviews(settings, engine, knowledge, write_csv(Path(tmp) / "test.csv", test), reader=reader,
                                   out=Path(tmp) / "report")
        predicted = stored_sentiments(engine, analysis.result.batch_id)
        assert len(predicted) == len(test), (len(predicted), len(test))
        started = time.perf_counter()
        reader.read([r["review"] for r in test])
        read_seconds = time.perf_counter() - started
        out["review_model"] = {
            "version": version, "train_seconds": round(train_seconds, 1),
            "accuracy": round(float(np.mean([p == t for p, t in zip(predicted, truth)])), 4),
            "per_category": per_category(test, predicted),
            "analyze_reviews_per_second": round(len(test) / analysis.result.seconds, 1),
            "model_only_reviews_per_second": round(len(test) / read_seconds, 1),
            "analyze_seconds": analysis.result.seconds}

        if not args.skip_router:
            from assistant.models import embedder_from_settings
            from assistant.registry import Registry
            from ui.bootstrap import ensure_ready
            from ui.review_analysis import RouterSentiment

            say("The bootstrap router (what reads reviews without a review model), zero-shot ...")
            embedder = embedder_from_settings(settings, say)
            ensure_ready(settings, embedder=embedder, log=say, progress=False)
            registry = Registry(settings.models_dir)
            from assistant.router import Router

            router = Router(registry.active_folder("router"), embedder, order_id_pattern=knowledge.shop.order_id_pattern)
            sample = random.Random(0).sample(range(len(test)), min(args.router_sample, len(test)))
            started = time.perf_counter()
            read = RouterSentiment(router, "router").read([test[i]["review"] for i in sample])
            seconds = time.perf_counter() - started
            # The router knows neutral; a review is either, so anything not negative counts as positive.
            hits = [("negative" if r.sentiment == "negative" else "positive") == truth[i] for r, i in zip(read, sample)]
            out["router_zero_shot"] = {"n": len(sample), "accuracy": round(float(np.mean(hits)), 4),
                                       "per_category": per_category([test[i] for i in sample], [
                                           "negative" if r.sentiment == "negative" else "positive" for r in read]),
                                       "reviews_per_second": round(len(sample) / seconds, 1),
                                       "read_as": dict(Counter(r.sentiment for r in read))}

        say(f"Alert replay: {args.category} over {args.replay_days} days, clean and with a burst ...")
        category = [r for r in rows if r["cat"] == args.category]
        random.Random(1).shuffle(category)
        negatives = [r for r in category if r["label"] == "0"]
        burst = random.Random(2).sample(negatives, args.burst)
        stream = [r for r in category if r not in burst]
        replays = {}
        for name, extra in (("clean", []), ("burst", burst)):
            replay_settings = Settings(home=Path(tmp) / f"replay-{name}", alert_check_seconds=0)
            replay_engine = store.make_engine(replay_settings.db_url)
            store.migrate(replay_engine)
            replays[f"{name}_replay"] = replay(replay_settings, replay_engine, knowledge, reader, stream, Path(tmp),
                                   days=args.replay_days, burst=extra, burst_day=args.replay_days - 8,
                                   burst_hours=args.burst_hours)
        say("Clean replays of every category (false alerts) ...")
        false_alerts = {}
        for name in sorted({r["cat"] for r in rows}):
            reviews_of = [r for r in rows if r["cat"] == name]
            random.Random(3).shuffle(reviews_of)
            clean_settings = Settings(home=Path(tmp) / f"clean-{len(false_alerts)}", alert_check_seconds=0)
            clean_engine = store.make_engine(clean_settings.db_url)
            store.migrate(clean_engine)
            result = replay(clean_settings, clean_engine, knowledge, reader, reviews_of, Path(tmp), days=args.replay_days,
                            burst=[], burst_day=0, burst_hours=1)
            false_alerts[name] = {"reviews": result["reviews"], "checks": result["checks"],
                                  "alerts": len(result["alerts"]), "keys": sorted({a["key"] for a in result["alerts"]})}
        out["clean_replays"] = false_alerts
        out["alert_replay"] = {"category": args.category, "reviews_per_day": round(len(stream) / args.replay_days, 1),
                               "burst": {"negatives": args.burst, "over_hours": args.burst_hours,
                                         "starts_day": args.replay_days - 8},
                               "rule": rule_text(settings), **replays}
    print(json.dumps(out, ensure_ascii=False))


def rule_text(settings) -> str:
    from assistant.alerts import AlertRule

    return AlertRule.from_settings(settings).describe(0).replace("/0", "/keys tested")


if __name__ == "__main__":
    main()
