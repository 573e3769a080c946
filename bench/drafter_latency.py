"""Drafter latency per reply on this machine: in process, and through `assistant drafter serve` on loopback
(one customer at a time, then N at once to show the service's dynamic batching), beside the template.

    python bench/drafter_latency.py --model DIR [--pairs DIR/drafter-test.jsonl] [--n 60] [--concurrency 8]
        [--device cpu] [--beams 1] [--port 7971]

Inputs are the held-out pairs saved with the model (what `assistant eval drafter` reads). Prints one JSON
object; figures in bench/README.md. bench/drafter_gpu.py is the same measurement prepared for a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/drafter_latency.py` finds bench/

from assistant.drafter_service import RemoteGenerator
from assistant.seq2seq import Decoding, Seq2SeqGenerator
from bench.serving import start, wait_ready
from finetune.seq2seq import DrafterExample


def percentiles(ms: list[float]) -> dict:
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "n": len(ms)}


def timed(generate, inputs: list[str]) -> list[float]:
    out = []
    for text in inputs:
        started = time.perf_counter()
        generate([text])
        out.append(1000 * (time.perf_counter() - started))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--pairs", type=Path, default=None)
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--beams", type=int, default=1)
    parser.add_argument("--port", type=int, default=7971)
    opts = parser.parse_args()
    pairs = opts.pairs or opts.model / "drafter-test.jsonl"
    examples = [DrafterExample.from_row(json.loads(line)) for line in pairs.read_text(encoding="utf-8").splitlines()
                if line.strip()][:opts.n]
    inputs = [e.input for e in examples]
    decoding = Decoding(num_beams=opts.beams, time_limit=30.0)
    result: dict = {"model": str(opts.model), "device": opts.device, "beams": opts.beams, "pairs": len(inputs),
                    "torch_threads": __import__("torch").get_num_threads()}

    local = Seq2SeqGenerator(opts.model, decoding, device=opts.device)
    local.warm_up()
    local.generate(inputs[:2])  # first-call costs out of the figures
    in_process = timed(local.generate, inputs)
    result["in_process"] = {**percentiles(in_process), "replies_per_s": round(1000 / float(np.mean(in_process)), 2)}

    env = {**os.environ, "ASSISTANT_DRAFTER_BEAMS": str(opts.beams), "ASSISTANT_DRAFTER_TIME_LIMIT": "30"}
    server = start(["drafter", "serve", "--model", str(opts.model), "--device", opts.device, "--port", str(opts.port),
                    "--max-batch", str(opts.concurrency)], env, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{opts.port}"
    try:
        wait_ready(base, server, path="/healthz")
        remote = RemoteGenerator(base, timeout=120)
        remote.generate(inputs[:1])
        one = timed(remote.generate, inputs)
        result["service_one_at_a_time"] = {**percentiles(one), "replies_per_s": round(1000 / float(np.mean(one)), 2)}
        started = time.perf_counter()
        with ThreadPoolExecutor(opts.concurrency) as pool:
            latencies = list(pool.map(lambda text: timed(remote.generate, [text])[0], inputs))
        wall = time.perf_counter() - started
        result[f"service_{opts.concurrency}_at_once"] = {**percentiles(latencies),
                                                          "replies_per_s": round(len(inputs) / wall, 2)}
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
