"""Faults injected under load: what a served assistant answers, and keeps, when a piece of it fails.

    python bench/faults.py [--home DIR] [--only NAME] [--work DIR]

Bootstraps one home (or copies --home, one that `assistant serve` has prepared), then runs each scenario on
its own copy, its own free port and its own `assistant serve`, with customers talking to the REST API while
the fault happens. Prints one JSON object per scenario on stdout, progress on stderr; server logs stay in
WORK/logs. The scenarios (`--only NAME` runs one):

    server_killed     `assistant serve` SIGKILLed mid-load and started again on the same home and port
    drafter_killed    ASSISTANT_DRAFTER=model through `assistant drafter serve`, which is SIGKILLed mid-load
    drafter_hung      the same drafter service SIGSTOPped (it accepts connections and never answers)
    database_stopped  PostgreSQL (the `assistant-ci` cluster of .ci/postgres.sh) stopped for ~10 s, then started
    disk_full         the SQLite database on a small tmpfs, filled until writes fail, then freed
    finetune_killed   `assistant train classifier` SIGKILLed mid-run beside the serving process

A turn is acknowledged when the client got a 2xx with a stored message id; an unacknowledged turn is never
sent again (the client cannot always know whether it was stored), it is counted, and looked up too.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/faults.py` finds bench/

from assistant import metrics  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from bench.fault_harness import (CLUSTER, Bench, Child, Turn, between, latency, problems_of, saved_turns,  # noqa: E402
                                 say, summary, under_load, wait_for, watch)
from bench.serving import bootstrap, free_port, wait_ready  # noqa: E402


# ---------------------------------------------------------------------------------------------- the scenarios

def server_killed(bench: Bench) -> dict:
    """30 conversations x 10 turns; `assistant serve` SIGKILLed once 100 turns are acknowledged, started again
    at once on the same home and port; the customers carry on."""
    with bench.serve("server_killed", bench.home("server_killed")) as server:
        load = bench.load(server, conversations=30, turns=10, think=2.0, ramp=2.0)
        at: dict = {}

        async def fault():
            await wait_for(lambda: load.acknowledged() >= 100, timeout=120)
            at["acknowledged"], at["kill"] = load.acknowledged(), time.monotonic()
            say(f"server_killed: SIGKILL after {at['acknowledged']} acknowledged turns; restarting")
            server.child.signal(signal.SIGKILL)
            await asyncio.to_thread(server.restart)
            at["ready"] = time.monotonic()

        asyncio.run(under_load(load, fault, stop=False))
        result = summary(load, server.engine)
    recovery = load.first_ok_after(at["kill"])
    result |= {"acknowledged_at_kill": at["acknowledged"], "kill_to_ready_seconds": round(at["ready"] - at["kill"], 1),
               "recovery_seconds": recovery,  # from the kill to the first acknowledged turn
               "while_down": dict(Counter(t.outcome for t in between(load.turns, at["kill"], at["ready"])))}
    return problems_of(result, (recovery is None, "no turn acknowledged after the restart"))


def drafter_fault(bench: Bench, name: str, sig: int) -> dict:
    """10 conversations on ASSISTANT_DRAFTER=model through `assistant drafter serve` (the tiny untrained model);
    the service gets `sig` once 40 turns are acknowledged, and the customers go on for 15 s."""
    home, port = bench.home(name), free_port()
    url = f"http://127.0.0.1:{port}"
    # 16 new tokens and one thread: the untrained model never ends a draft, and 96 tokens on two threads beside
    # the assistant on two cores outlast the timeout (the breaker would be open before the fault).
    drafter = Child(["drafter", "serve", "--model", str(bench.tiny_drafter()), "--port", str(port)],
                    {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_DRAFTER_MAX_NEW_TOKENS": "16",
                     "OMP_NUM_THREADS": "1"},
                    bench.log(f"{name}-drafter"))
    drafter.start()
    try:
        wait_ready(url, drafter.process, timeout=300, path="/healthz")
        httpx.post(url + "/v1/generate", json={"inputs": ["warm up"]}, timeout=60)  # the first call pays for loading
        config = Settings(home=home, drafter="model", drafter_url=url)
        with bench.serve(name, home, ASSISTANT_DRAFTER="model", ASSISTANT_DRAFTER_URL=url) as server:
            load = bench.load(server, conversations=10, think=1.0)
            at: dict = {}

            async def fault():
                await wait_for(lambda: load.acknowledged() >= 40, timeout=90)
                say(f"{name}: {signal.Signals(sig).name} to the drafter service")
                at["fault"] = time.monotonic()
                drafter.signal(sig)
                await asyncio.sleep(15)

            asyncio.run(under_load(load, fault))
            result = summary(load, server.engine)
            replies, _ = saved_turns(server.engine)
    finally:
        drafter.stop()

    def window(turns: list[Turn]) -> dict:
        bots = [replies.get((t.conversation, t.text)) for t in turns if t.acknowledged]
        why = [b.reason.split("model draft not sent: ", 1)[1] for b in bots if b and "model draft not sent: " in (b.reason or "")]
        return {**latency(turns), "waited_the_timeout": sum(t.seconds >= config.drafter_timeout for t in turns),
                "statuses": dict(Counter(t.outcome for t in turns)),
                "sources": dict(Counter(t.source for t in turns if t.acknowledged)),
                "template_fallbacks": dict(Counter(metrics.fallback_reason(w) for w in why))}

    before, after = window(between(load.turns, 0, at["fault"])), window(between(load.turns, at["fault"]))
    budget_ms = (config.drafter_timeout + 1.0) * 1000  # the drafter's timeout, and a second for the reply's own work
    result |= {"drafter_timeout_s": config.drafter_timeout,
               "breaker": f"open after {config.drafter_breaker_failures} failures for {config.drafter_breaker_seconds:g} s",
               "before": before, "after": after}
    answered = "model" in before["sources"] or set(before["template_fallbacks"]) - {"unavailable"}
    return problems_of(result,
                       (not answered, "the drafter never answered before the fault"),
                       (set(after["statuses"]) != {"200"}, "a reply after the fault was not a 200"),
                       (after["n"] == 0, "no turn after the fault"),
                       ((after["max_ms"] or 0) > budget_ms, f"a reply after the fault took over {budget_ms:.0f} ms"),
                       ("model" in after["sources"], "a model draft after the drafter was gone"))


def pg_ctl(version: str, action: str, *extra: str) -> None:
    subprocess.run(["pg_ctlcluster", version, CLUSTER, action, *extra], check=True, capture_output=True, timeout=120)


def pg_start(version: str) -> None:
    """Start the cluster unless it runs (other tests use it: always called on the way out)."""
    if subprocess.run(["pg_ctlcluster", version, CLUSTER, "status"], capture_output=True).returncode != 0:
        pg_ctl(version, "start", "-o", "-c listen_addresses=127.0.0.1")


def database_stopped(bench: Bench) -> dict:
    """20 conversations and a probe on PostgreSQL; the cluster stopped (fast) for 10 s and started again; the
    assistant is not restarted."""
    import psycopg

    version = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: [int(x) for x in v.split(".") if x.isdigit()])[-1]
    admin = subprocess.run(["bash", str(ROOT / ".ci" / "postgres.sh")], check=True, capture_output=True, text=True,
                           timeout=900).stdout.strip().splitlines()[-1]
    database = f"assistant_faults_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    try:
        url = admin.rsplit("/", 1)[0] + "/" + database
        with bench.serve("database_stopped", bench.home("database_stopped"), ASSISTANT_DATABASE_URL=url) as server:
            config = Settings(home=server.child.env["ASSISTANT_HOME"], database_url=url)
            load = bench.load(server, conversations=20, think=1.0, probe=True)
            at, readyz = {}, []

            async def fault():
                await asyncio.sleep(5)
                say("database_stopped: pg_ctlcluster stop -m fast")
                at["stop"] = time.monotonic()
                await asyncio.to_thread(pg_ctl, version, "stop", "-m", "fast")
                at["stopped"], outage = time.monotonic(), asyncio.Event()
                watcher = asyncio.create_task(watch(server.base, "/readyz", outage, readyz))
                await asyncio.sleep(10)
                outage.set()
                await watcher
                say("database_stopped: pg_ctlcluster start")
                at["start"] = time.monotonic()
                await asyncio.to_thread(pg_ctl, version, "start", "-o", "-c listen_addresses=127.0.0.1")
                at["started"] = time.monotonic()
                await wait_for(lambda: load.first_ok_after(at["start"]) is not None, timeout=60)
                await asyncio.sleep(3)

            try:
                asyncio.run(under_load(load, fault))
            finally:
                pg_start(version)
            result = summary(load, server.engine)
    finally:
        pg_start(version)
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    down = between(load.turns, at["stopped"], at["start"])
    recovery = load.first_ok_after(at["start"])
    result |= {
        "db_settings": {k: getattr(config, k) for k in ("db_connect_retries", "db_retry_seconds", "db_connect_timeout",
                                                        "db_pool_timeout")},
        "outage_seconds": round(at["start"] - at["stopped"], 1),
        # Acknowledged during the outage: sent shortly before the start, stored once the connect retries reached it.
        "during_outage": {**latency(down), "acknowledged": sum(t.acknowledged for t in down),
                          "statuses": dict(Counter(t.outcome for t in down)),
                          "retry_after": dict(Counter(t.retry_after for t in down if t.outcome == "503"))},
        "readyz_during_outage": dict(Counter(f"{s} retry-after {r}" for _, s, r, _ in readyz)),
        "pg_ctlcluster_start_seconds": round(at["started"] - at["start"], 1),
        "recovery_seconds": recovery}  # from `pg_ctlcluster start` to the first 2xx answered after it
    return problems_of(result,
                       (not down, "no turn was sent during the outage"),
                       (any(t.outcome != "503" and not t.acknowledged for t in down),
                        "a turn during the outage got something else than a 2xx or a 503"),
                       (any(t.outcome == "503" and not t.retry_after for t in down), "a 503 without Retry-After"),
                       (any(s != "503" or not r for _, s, r, _ in readyz), "/readyz was not 503 with Retry-After"),
                       ((result["during_outage"]["max_ms"] or 0) > 15_000, "a request hung over 15 s"),
                       (recovery is None, "no turn acknowledged after the database came back"))


def fill(path: Path) -> int:
    """Write zeros to `path` until its file system refuses (ENOSPC); the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as out:
        for chunk in (bytes(1 << 20), bytes(4096), bytes(512)):
            while True:
                try:
                    written += out.write(chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    return written


def disk_full(bench: Bench) -> dict:
    """10 conversations and a probe; the SQLite database on a 16 MB tmpfs, filled until writes fail, kept full
    until a turn is refused and 6 s more, then freed; the assistant is not restarted."""
    disk = bench.work / "disk_full-tmpfs"
    disk.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], check=True)
    try:
        with bench.serve("disk_full", bench.home("disk_full"),
                         ASSISTANT_DATABASE_URL=f"sqlite:///{disk / 'assistant.db'}") as server:
            load = bench.load(server, conversations=10, think=1.0, probe=True)
            at: dict = {}

            async def fault():
                await asyncio.sleep(4)
                at["full"] = time.monotonic()
                at["filler_bytes"] = await asyncio.to_thread(fill, disk / "filler")
                say(f"disk_full: filler of {at['filler_bytes'] / 2**20:.1f} MiB written; the disk is full")
                await wait_for(lambda: any(not t.acknowledged for t in between(load.turns, at["full"])), timeout=30)
                await asyncio.sleep(6)
                say("disk_full: filler removed")
                at["freed"] = time.monotonic()
                (disk / "filler").unlink()
                await wait_for(lambda: load.first_ok_after(at["freed"]) is not None, timeout=30)
                await asyncio.sleep(2)

            asyncio.run(under_load(load, fault))
            result = summary(load, server.engine)
            replies, statuses = saved_turns(server.engine)
            with server.engine.connect() as connection:
                integrity = connection.exec_driver_sql("PRAGMA integrity_check").scalar()
    finally:
        if subprocess.run(["umount", str(disk)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(disk)], check=False)
    full = between(load.turns, at["full"], at["freed"])
    # Half-written: a customer message stored without its reply while the bot owns the conversation (on hold,
    # with an agent, the bot stays silent on purpose).
    unanswered = [key for key, bot in replies.items() if bot is None]
    half = [key for key in unanswered if statuses.get(key[0]) == "bot"]
    recovery = load.first_ok_after(at["freed"])
    refused = [t for t in full if t.outcome == "503"]
    result |= {
        "filler_mib": round(at["filler_bytes"] / 2**20, 1),
        "while_full": {**latency(full), "statuses": dict(Counter(t.outcome for t in full)),
                       "acknowledged": sum(t.acknowledged for t in full)},
        "customer_messages_stored": len(replies), "unanswered_on_hold": len(unanswered) - len(half),
        "half_written": len(half), "integrity_check": integrity,
        "recovery_seconds": recovery}  # from removing the filler to the first 2xx
    return problems_of(result,
                       (not refused, "no turn was refused while the disk was full"),
                       (any(t.outcome != "503" and not t.acknowledged for t in full), "a refusal other than 503"),
                       (any("half-saved" not in (t.detail or "") for t in refused), "a 503 without a clear detail"),
                       (bool(half), "a customer message stored without its reply"),
                       (integrity != "ok", "the database is damaged"),
                       (recovery is None, "no turn acknowledged after the disk was freed"))


def assistant_json(args: list[str], home: Path):
    run = subprocess.run([os.path.join(os.path.dirname(sys.executable), "assistant"), *args], capture_output=True,
                         text=True, check=True, env={**os.environ, "ASSISTANT_HOME": str(home)}, timeout=120)
    return json.loads(run.stdout)


def finetune_killed(bench: Bench) -> dict:
    """4 conversations; after 4 s, `assistant train classifier --mode finetune --encoder minilm --epochs 1` on the
    served home, SIGKILLed 2 s into its first epoch; the registry and the server's versions must not move."""
    from assistant.registry import KINDS, VERSION_FILE, Registry

    home = bench.home("finetune_killed")
    registry = Registry(Settings(home=home).models_dir)
    active = lambda: {kind: registry.active_version(kind) for kind in KINDS}  # noqa: E731
    listed = lambda: sorted(f"{r['kind']}/{r['version']}" for r in assistant_json(["models", "list", "--json"], home)  # noqa: E731
                            if r["active"])
    before, listed_before = active(), listed()
    trainer = Child(["train", "classifier", "--mode", "finetune", "--encoder", "minilm", "--epochs", "1"],
                    {**os.environ, "ASSISTANT_HOME": str(home)}, bench.log("finetune_killed-train"))
    with bench.serve("finetune_killed", home) as server:
        serving_before = httpx.get(server.base + "/readyz", timeout=10).json()["models"]
        reload_seconds = Settings(home=home).reload_seconds
        load = bench.load(server, conversations=4, think=1.0)
        at, readyz = {}, []

        async def fault():
            await asyncio.sleep(4)
            at["train"] = time.monotonic()
            trainer.start()
            await wait_for(lambda: "epoch 1/" in trainer.log.read_text(errors="replace")
                           or trainer.process.poll() is not None, timeout=420, every=0.5)
            await asyncio.sleep(2)
            at["finished_first"] = trainer.process.poll() is not None
            at["phase"] = trainer.log.read_text(errors="replace").replace("\r", "\n").strip().splitlines()[-1][:120]
            say(f"finetune_killed: SIGKILL to the training run at: {at['phase']}")
            trainer.signal(signal.SIGKILL)
            at["kill"], done = time.monotonic(), asyncio.Event()
            watcher = asyncio.create_task(watch(server.base, "/readyz", done, readyz, every=1.0))
            await asyncio.sleep(2 * reload_seconds + 3)  # past the server's next look at the registry
            done.set()
            await watcher

        asyncio.run(under_load(load, fault))
        result = summary(load, server.engine)
        replies, _ = saved_turns(server.engine)
    after = active()
    half = [f"{kind}/{folder.name}" for kind in KINDS for folder in (registry.root / kind).glob("v[0-9]*")
            if not (folder / VERSION_FILE).is_file()]
    staging = sorted(str(p.relative_to(registry.root)) for p in registry.root.glob("*/.staging-*"))
    served = Counter(json.dumps(b.model_versions, sort_keys=True) for b in replies.values() if b is not None)
    readyz_models = Counter(json.dumps(body.get("models") if isinstance(body, dict) else body, sort_keys=True)
                            for _, _, _, body in readyz)
    result |= {"killed_at": at["phase"], "training_seconds": round(at["kill"] - at["train"], 1),
               "latency": {"before": latency(between(load.turns, 0, at["train"])),
                           "training": latency(between(load.turns, at["train"], at["kill"])),
                           "after_kill": latency(between(load.turns, at["kill"]))},
               "active_before": before, "active_after": after,
               "models_list_active": listed(), "serving_before": serving_before,
               "readyz_after_kill": dict(readyz_models), "replies_by_versions": dict(served),
               "half_written_versions": half, "staging_left": staging,
               "stale_staging_removed": sum(registry.clean_stale(kind) for kind in KINDS)}
    return problems_of(result,
                       (at["finished_first"], "the training run ended before it could be killed"),
                       (after != before, "the active versions changed"),
                       (result["models_list_active"] != listed_before, "`assistant models list` shows other active versions"),
                       (bool(half), "a version folder without its version.json"),
                       (set(readyz_models) != {json.dumps(serving_before, sort_keys=True)}, "/readyz changed versions"),
                       (len(served) != 1, "replies were stamped with more than one set of versions"))


SCENARIOS = {
    "server_killed": server_killed,
    "drafter_killed": lambda bench: drafter_fault(bench, "drafter_killed", signal.SIGKILL),
    "drafter_hung": lambda bench: drafter_fault(bench, "drafter_hung", signal.SIGSTOP),
    "database_stopped": database_stopped,
    "disk_full": disk_full,
    "finetune_killed": finetune_killed,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None,
                        help="A home `assistant serve` has prepared, copied per scenario [default: bootstrap one].")
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append", help="Run this scenario (repeatable).")
    parser.add_argument("--work", type=Path, default=None, help="Work folder (homes, logs) [default: a temporary one].")
    opts = parser.parse_args()
    # SIGTERM runs the `finally` blocks too: the PostgreSQL cluster started again, the tmpfs unmounted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = (opts.work or Path(tempfile.mkdtemp(prefix="assistant-faults-"))).resolve()
    (work / "logs").mkdir(parents=True, exist_ok=True)
    bench = Bench(work, (opts.home or bootstrap(work / "bootstrap-home", work / "logs" / "bootstrap.log")).resolve())
    failed = False
    for name in opts.only or list(SCENARIOS):
        began = time.monotonic()
        say(f"{name} ...")
        bench.server_errors, bench._load = [], None
        try:
            result = SCENARIOS[name](bench)
        except Exception as exc:  # noqa: BLE001 (one broken scenario must not hide the others' figures)
            import traceback

            traceback.print_exc()
            result, failed = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}, True
        bench.dump_turns(name)
        if bench.server_errors:  # the server's own account of what went wrong
            result["server_log_errors"] = bench.server_errors
        print(json.dumps({"scenario": name, **result, "seconds": round(time.monotonic() - began, 1)},
                         ensure_ascii=False), flush=True)
    shutil.rmtree(work / "homes", ignore_errors=True)
    kept = "" if opts.home else f"; the bootstrapped home (--home next time): {bench.source}"
    say(f"server logs and turns: {work / 'logs'}{kept}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
