"""Load on the REST API: C concurrent conversations x T turns against `assistant serve` on loopback
(bounded, stops by itself), then every acknowledged turn looked up in the database.

    python bench/load.py [--home DIR] [--conversations 200] [--turns 20] [--think 2.0] [--port 7963]

Each conversation is one customer: start a conversation with a shop key, then send T messages, waiting
a random 0-2x`--think` seconds between a reply and the next message (people read and type; `--think 0`
sends back to back); customers arrive at random over `--ramp` seconds (default 2x`--think`; 0: at once). Prints one JSON object: turns_sent, turns_acknowledged (2xx with a message id),
turns_stored (customer messages counted in the database afterwards), lost (acknowledged but not
stored), duplicated (a message stored twice), errors_5xx, other statuses, p50_ms, p99_ms, throughput.
Uses an ASSISTANT_HOME that already has models (--home; default: a temporary one, bootstrapped first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/load.py` finds bench/

from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from assistant import store  # noqa: E402
from assistant.tables import Message  # noqa: E402
from bench.serving import serve_with_key, stop, wait_ready  # noqa: E402

QUESTIONS = ["where is my order MM20261104?", "运费多少钱？", "how do I return a jacket?", "能开发票吗",
             "my payment failed twice", "耳机坏了怎么保修", "do you have the down jacket in XL?", "谢谢！",
             "what are your opening hours", "我的快递三天了还没到", "can I change my delivery address?", "怎么退款"]


async def customer(client: httpx.AsyncClient, key: str, n: int, turns: int, think: float, ramp: float,
                   rng: random.Random, record: dict) -> None:
    await asyncio.sleep(rng.uniform(0, ramp))  # customers arrive over the ramp, not in one instant
    started = await client.post("/api/v1/conversations", headers={"Authorization": f"Bearer {key}"})
    record["statuses"][started.status_code] += 1
    if started.status_code != 201:
        return
    body = started.json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    for turn in range(turns):
        # A marker per turn, so the database can be asked whether this very message was stored, and once.
        text = f"{QUESTIONS[(n + turn) % len(QUESTIONS)]} [load {n}-{turn}]"
        record["sent"] += 1
        t0 = time.perf_counter()
        try:
            response = await client.post(f"/api/v1/conversations/{body['id']}/messages", json={"text": text},
                                         headers=headers)
        except httpx.HTTPError as exc:
            record["statuses"][type(exc).__name__] += 1
            continue
        record["latencies"].append((time.perf_counter() - t0) * 1000)
        record["statuses"][response.status_code] += 1
        if 200 <= response.status_code < 300 and response.json().get("customer_message_id"):
            record["acknowledged"].append((body["id"], text))
        if think > 0:
            await asyncio.sleep(rng.uniform(0, 2 * think))


async def drive(base: str, key: str, conversations: int, turns: int, think: float, ramp: float, seed: int) -> dict:
    record = {"sent": 0, "latencies": [], "statuses": Counter(), "acknowledged": []}
    limits = httpx.Limits(max_connections=conversations, max_keepalive_connections=conversations)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        rng = random.Random(seed)
        await asyncio.gather(*(customer(client, key, n, turns, think, ramp, random.Random(rng.random()), record)
                               for n in range(conversations)))
    return record


def stored_counts(engine, acknowledged: list[tuple[str, str]]) -> tuple[int, int, int]:
    """(acknowledged turns found stored, lost, duplicated): each acknowledged text looked up in its conversation."""
    wanted = Counter(acknowledged)
    found: Counter = Counter()
    with store.transaction(engine) as session:
        rows = session.exec(select(Message.conversation_id, Message.text, func.count())
                            .where(Message.role == "customer", Message.text.like("%[load %"))
                            .group_by(Message.conversation_id, Message.text))
        for conversation_id, text, count in rows:
            found[(conversation_id, text)] = count
    stored = sum(1 for turn in wanted if found.get(turn, 0) >= 1)
    duplicated = sum(count - 1 for count in found.values() if count > 1)
    return stored, len(wanted) - stored, duplicated


def measure(home: Path, port: int, *, conversations: int, turns: int, think: float, ramp: float, seed: int = 0,
            serve_args: tuple[str, ...] = (), **env: str) -> dict:
    """One load run against `assistant serve SERVE_ARGS` on `home`: the JSON figures `main` prints."""
    server, base, key, engine = serve_with_key(home, port, serve_args=serve_args, ASSISTANT_ALERT_CHECK_SECONDS="0",
                                               **env)
    try:
        wait_ready(base, server, timeout=600)
        began = time.perf_counter()
        record = asyncio.run(drive(base, key, conversations, turns, think, ramp, seed))
        seconds = time.perf_counter() - began
    finally:
        stop(server)
    stored, lost, duplicated = stored_counts(engine, record["acknowledged"])
    engine.dispose()
    latencies = sorted(record["latencies"])
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1) if latencies else None  # noqa: E731
    statuses = {str(k): v for k, v in sorted(record["statuses"].items(), key=str)}
    return {
        "conversations": conversations, "turns_per_conversation": turns, "think_seconds": think,
        "ramp_seconds": ramp,
        "turns_sent": record["sent"], "turns_acknowledged": len(record["acknowledged"]), "turns_stored": stored,
        "lost": lost, "duplicated": duplicated,
        "failed": record["sent"] - len(record["acknowledged"]),  # refused or unanswered (client-side errors too)
        "errors_5xx": sum(v for k, v in record["statuses"].items() if isinstance(k, int) and k >= 500),
        "statuses": statuses, "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": pick(1.0),
        "seconds": round(seconds, 1), "turns_per_second": round(record["sent"] / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--think", type=float, default=2.0, help="Mean seconds a customer waits between turns.")
    parser.add_argument("--ramp", type=float, default=None,
                        help="Customers arrive at random within this many seconds [default: 2x --think]; 0: all at once.")
    parser.add_argument("--port", type=int, default=7963)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="`assistant serve --workers N`.")
    parser.add_argument("--database-url", default="", help="ASSISTANT_DATABASE_URL of the server (PostgreSQL).")
    opts = parser.parse_args()
    home = opts.home or Path(tempfile.mkdtemp(prefix="assistant-load-"))
    env = {"ASSISTANT_DATABASE_URL": opts.database_url} if opts.database_url else {}
    print(json.dumps(measure(home, opts.port, conversations=opts.conversations, turns=opts.turns, think=opts.think,
                             ramp=2 * opts.think if opts.ramp is None else opts.ramp, seed=opts.seed,
                             serve_args=("--workers", str(opts.workers)), **env)))


if __name__ == "__main__":
    main()
