"""The HTTP API under a short local load: N concurrent customers, each starting a conversation with a
shop key and sending M messages, against `assistant serve` on loopback (bounded; stops by itself).

    python bench/api_load.py [--home DIR] [--concurrency 20] [--messages 10] [--port 7962]

Prints p50/p95/p99 of POST /messages, throughput and the status codes seen. Uses an ASSISTANT_HOME
that already has models (--home; default: a temporary one, bootstrapped first, which takes a minute).
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/api_load.py` finds bench/

from bench.serving import serve_with_key, wait_ready  # noqa: E402

QUESTIONS = ["where is my order MM20261104?", "运费多少钱？", "how do I return a jacket?", "能开发票吗",
             "my payment failed twice", "耳机坏了怎么保修", "do you have the down jacket in XL?", "谢谢！"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--port", type=int, default=7962)
    opts = parser.parse_args()
    home = opts.home or Path(tempfile.mkdtemp(prefix="assistant-load-"))
    server, base, key, _ = serve_with_key(home, opts.port)
    try:
        wait_ready(base, server)
        latencies, statuses = [], collections.Counter()

        def customer(n: int) -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                started = client.post("/api/v1/conversations", headers={"Authorization": f"Bearer {key}"})
                statuses[started.status_code] += 1
                if started.status_code != 201:
                    return
                body = started.json()
                for i in range(opts.messages):
                    t0 = time.perf_counter()
                    response = client.post(f"/api/v1/conversations/{body['id']}/messages",
                                           json={"text": QUESTIONS[(n + i) % len(QUESTIONS)]},
                                           headers={"Authorization": f"Bearer {body['token']}"})
                    latencies.append((time.perf_counter() - t0) * 1000)
                    statuses[response.status_code] += 1

        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=opts.concurrency) as pool:
            list(pool.map(customer, range(opts.concurrency)))
        seconds = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    print(f"{opts.concurrency} concurrent customers x {opts.messages} messages: {len(latencies)} replies in "
          f"{seconds:.1f} s ({len(latencies) / seconds:.1f}/s)")
    print(f"POST /messages latency p50 {pick(0.5):.0f} ms, p95 {pick(0.95):.0f} ms, p99 {pick(0.99):.0f} ms")
    print(f"status codes: {dict(statuses)}")


if __name__ == "__main__":
    main()
