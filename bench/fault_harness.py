"""The harness of bench/faults.py: customers talking to a served assistant while a fault is injected (Load),
the child processes it starts and kills (Child, Server), the homes and logs of one run (Bench), and what is
read back from the database afterwards."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from sqlmodel import select

from assistant import store
from assistant.tables import Conversation, Message
from bench.load import QUESTIONS, stored_counts
from bench.serving import free_port, new_key, serve_env, start, wait_ready

CLUSTER = "assistant-ci"  # the PostgreSQL cluster .ci/postgres.sh runs for the tests


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- the customers

@dataclass(frozen=True)
class Turn:
    """One message a customer sent and what came back."""

    conversation: str
    text: str
    sent: float                      # time.monotonic() when it was sent
    seconds: float
    outcome: str                     # the HTTP status, or the transport error's class name
    acknowledged: bool = False       # 2xx with a stored message id
    retry_after: str | None = None
    source: str | None = None        # who wrote the reply: template, model, policy
    detail: str | None = None        # a refusal's message

    @property
    def done(self) -> float:
        return self.sent + self.seconds


class Load:
    """Customers talking to the API (arriving over `ramp` seconds, `think` seconds between turns on average),
    each until out of turns, told to stop, or `limit` seconds have passed. A customer whose turn failed waits
    the refusal's Retry-After or 1, 2, 4 s (at most 4) before its next turn; the probe waits 0-0.25 s."""

    def __init__(self, base: str, key: str, *, conversations: int, turns: int | None = None, think: float = 1.0,
                 ramp: float = 2.0, probe: bool = False, limit: float = 180.0, seed: int = 0):
        self.base, self.key, self.conversations, self.max_turns = base, key, conversations, turns
        self.think, self.ramp, self.probe, self.limit, self.seed = think, ramp, probe, limit, seed
        self.turns: list[Turn] = []
        self.starts: Counter = Counter()

    def stop(self) -> None:
        self._stop.set()

    def stopping(self) -> bool:
        return self._stop.is_set() or time.monotonic() > self._deadline

    def acknowledged(self) -> int:
        return sum(t.acknowledged for t in self.turns)

    def first_ok_after(self, moment: float) -> float | None:
        """Seconds from `moment` to the first acknowledged turn answered after it."""
        done = [t.done for t in self.turns if t.acknowledged and t.done >= moment]
        return round(min(done) - moment, 2) if done else None

    async def run(self) -> None:
        self._stop, self._deadline = asyncio.Event(), time.monotonic() + self.limit
        rng = random.Random(self.seed)
        limits = httpx.Limits(max_connections=self.conversations + 1, max_keepalive_connections=self.conversations + 1)
        async with httpx.AsyncClient(base_url=self.base, timeout=30, limits=limits) as client:
            customers = [self._customer(client, n, random.Random(rng.random()), self.ramp, self.think, True)
                         for n in range(self.conversations)]
            if self.probe:
                customers.append(self._customer(client, "p", rng, 0.0, 0.125, False))
            await asyncio.gather(*customers)

    async def _customer(self, client, n, rng, ramp: float, think: float, patient: bool) -> None:
        await asyncio.sleep(rng.uniform(0, ramp))
        opened = await self._open(client)
        if opened is None:
            return
        conversation, headers = opened
        failures, offset = 0, n if isinstance(n, int) else 0
        for turn in range(self.max_turns) if self.max_turns else itertools.count():
            if self.stopping():
                return
            # A marker per turn (as bench/load.py), so the database can be asked whether this very message was stored.
            text = f"{QUESTIONS[(offset + turn) % len(QUESTIONS)]} [load {n}-{turn}]"
            record = await self._send(client, conversation, headers, text)
            self.turns.append(record)
            failures = 0 if record.acknowledged else failures + 1
            pause = rng.uniform(0, 2 * think)
            if failures and patient:
                pause = min(float(record.retry_after) if record.retry_after else 2.0 ** (failures - 1), 4.0)
            await asyncio.sleep(pause)

    async def _open(self, client):
        """A new conversation: (id, headers); tried again every second while refused, None once stopping."""
        while not self.stopping():
            try:
                response = await client.post("/api/v1/conversations", headers={"Authorization": f"Bearer {self.key}"})
                self.starts[str(response.status_code)] += 1
                if response.status_code == 201:
                    body = response.json()
                    return body["id"], {"Authorization": f"Bearer {body['token']}"}
            except httpx.HTTPError as exc:
                self.starts[type(exc).__name__] += 1
            await asyncio.sleep(1.0)
        return None

    async def _send(self, client, conversation: str, headers: dict, text: str) -> Turn:
        sent = time.monotonic()
        try:
            response = await client.post(f"/api/v1/conversations/{conversation}/messages", json={"text": text},
                                         headers=headers)
        except httpx.HTTPError as exc:
            return Turn(conversation, text, sent, time.monotonic() - sent, type(exc).__name__)
        seconds = time.monotonic() - sent
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text[:300]}
        ok = response.is_success and bool(body.get("customer_message_id"))
        return Turn(conversation, text, sent, seconds, str(response.status_code), ok,
                    response.headers.get("retry-after"), body.get("source") if ok else None,
                    None if ok else str(body.get("detail"))[:300])


async def under_load(load: Load, fault, *, stop: bool = True) -> None:
    """The load, and beside it the fault (a coroutine function); then the load is stopped (or, with stop=False,
    left to finish its turns)."""
    customers = asyncio.create_task(load.run())
    await asyncio.sleep(0)
    try:
        await fault()
    finally:
        if stop:
            load.stop()
        await customers


# ---------------------------------------------------------------------------------------------- what was kept

def percentile(values: list[float], q: float) -> float | None:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1) if values else None


def latency(turns: list[Turn]) -> dict:
    ms = [t.seconds * 1000 for t in turns]
    return {"n": len(ms), "p50_ms": percentile(ms, 0.5), "max_ms": percentile(ms, 1.0)}


def between(turns: list[Turn], start: float, end: float = float("inf")) -> list[Turn]:
    return [t for t in turns if start <= t.sent < end]


def saved_turns(engine) -> tuple[dict, dict]:
    """({(conversation, customer text): its bot reply or None} for the bench's messages, {conversation: status})."""
    replies: dict = {}
    with store.transaction(engine) as session:
        statuses = dict(session.exec(select(Conversation.id, Conversation.status)).all())
        previous = None
        for message in session.exec(select(Message).order_by(Message.conversation_id, Message.id)):
            if message.role == "customer" and "[load " in message.text:
                previous = (message.conversation_id, message.text)
                replies.setdefault(previous, None)
            elif message.role == "bot" and previous and previous[0] == message.conversation_id:
                replies[previous], previous = message, None
            else:
                previous = None
    return replies, statuses


def summary(load: Load, engine) -> dict:
    """What the client saw and what the database kept: the fields every scenario prints."""
    turns = load.turns
    acknowledged = [(t.conversation, t.text) for t in turns if t.acknowledged]
    unacknowledged = [(t.conversation, t.text) for t in turns if not t.acknowledged]
    stored, lost, duplicated = stored_counts(engine, acknowledged)
    details: dict = {}
    for t in turns:
        if t.detail and t.detail not in details.setdefault(t.outcome, []) and len(details[t.outcome]) < 3:
            details[t.outcome].append(t.detail)
    return {
        "sent": len(turns), "acknowledged": len(acknowledged), "stored": stored, "lost": lost, "duplicated": duplicated,
        "unacknowledged": len(unacknowledged),
        # An unacknowledged turn may still have been stored (the answer was lost on the way back).
        "unacknowledged_stored": stored_counts(engine, unacknowledged)[0] if unacknowledged else 0,
        "statuses": dict(sorted(Counter(t.outcome for t in turns).items())),
        "retry_after": dict(Counter(t.retry_after for t in turns if t.outcome == "503")),
        "refusals": details,
        "conversation_starts": dict(sorted(load.starts.items())),
        **{k: v for k, v in latency(turns).items() if k != "n"}}


def problems_of(result: dict, *expectations: tuple[bool, str]) -> dict:
    """`ok` and the list of what went wrong: nothing lost or doubled, no 500, plus the scenario's own checks."""
    problems = [text for failed, text in (
        (result["lost"] > 0, f"{result['lost']} acknowledged turns not stored"),
        (result["duplicated"] > 0, f"{result['duplicated']} turns stored twice"),
        (any(s.startswith("5") and s != "503" for s in result["statuses"]), "a 5xx other than 503"),
        (result["acknowledged"] == 0, "nothing was acknowledged"),
        *expectations) if failed]
    return {"ok": not problems, "problems": problems, **result}


# ---------------------------------------------------------------------------------------------- the processes

class Child:
    """`assistant ARGS` as a child process whose stderr goes to a log file; started again on demand."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.args, self.env, self.log = args, env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as err:
            self.process = start(self.args, self.env, stderr=err)

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)
        if sig == signal.SIGKILL:
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def errors(self, limit: int = 6) -> list[str]:
        """The log's first error lines (the evidence when a scenario fails)."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return [line[:300] for line in lines if "Traceback" in line or " ERROR " in line][:limit]


@dataclass
class Server:
    child: Child
    base: str
    key: str
    engine: object

    def restart(self) -> None:
        self.child.start()
        wait_ready(self.base, self.child.process, timeout=300)


class Bench:
    """The work folder: one bootstrapped home copied per scenario, the logs, the tiny drafter."""

    def __init__(self, work: Path, source: Path):
        self.work, self.source = work, source
        (work / "logs").mkdir(parents=True, exist_ok=True)
        self._drafter: Path | None = None
        self._load: Load | None = None
        self.server_errors: list[str] = []

    def home(self, name: str) -> Path:
        """A copy of the bootstrapped home; the encoders (~470 MB, only ever read) are linked, not copied."""
        home = self.work / "homes" / name
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(self.source, home, ignore=shutil.ignore_patterns("encoders", ".bootstrap.lock"))
        if (self.source / "encoders").exists():
            (home / "encoders").symlink_to((self.source / "encoders").resolve())
        return home

    def log(self, name: str) -> Path:
        """A fresh log file for `name` (a restarted process appends to it)."""
        path = self.work / "logs" / f"{name}.log"
        path.unlink(missing_ok=True)
        return path

    @contextmanager
    def serve(self, name: str, home: Path, **env: str):
        """`assistant serve` on `home` (a free port, a fresh key), ready; stopped at the end."""
        port = free_port()
        key, engine = new_key(home, env.get("ASSISTANT_DATABASE_URL", ""))
        child = Child(["serve"], serve_env(home, port, ASSISTANT_ALERT_CHECK_SECONDS="0", **env), self.log(name))
        server = Server(child, f"http://127.0.0.1:{port}", key, engine)
        try:
            say(f"{name}: starting assistant serve on port {port}")
            server.restart()
            yield server
        finally:
            child.stop()
            engine.dispose()
            self.server_errors = child.errors()

    def load(self, server: Server, **options) -> Load:
        """Customers for `server` (see Load); their turns are written beside the logs at the end."""
        self._load = Load(server.base, server.key, **options)
        return self._load

    def dump_turns(self, name: str) -> None:
        """Every turn of the scenario's load, seconds from the first (the evidence when a figure needs explaining)."""
        turns = self._load.turns if self._load else []
        if not turns:
            return
        with open(self.work / "logs" / f"{name}-turns.jsonl", "w", encoding="utf-8") as out:
            for turn in turns:
                out.write(json.dumps({**asdict(turn), "sent": round(turn.sent - turns[0].sent, 3)},
                                     ensure_ascii=False) + "\n")

    def tiny_drafter(self) -> Path:
        if self._drafter is None:
            self._drafter = tiny_seq2seq(self.work / "tiny-seq2seq")
        return self._drafter


def tiny_seq2seq(folder: Path) -> Path:
    """A real Hugging Face encoder-decoder folder, tiny and untrained (as tests/conftest.py's tiny_seq2seq, but
    with 512 positions: the drafter's inputs, a question and three answers, pass 128 tokens, and the service
    would answer every one with a 500): what the service loads and decodes with; its drafts are noise."""
    import torch
    from transformers import AutoTokenizer, BertConfig, EncoderDecoderConfig, EncoderDecoderModel

    from assistant.models import minilm_path

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
    size = dict(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=64, max_position_embeddings=512)
    model = EncoderDecoderModel(config=EncoderDecoderConfig.from_encoder_decoder_configs(
        BertConfig(**size), BertConfig(**size, is_decoder=True, add_cross_attention=True)))
    for config in (model.config, model.generation_config):
        config.decoder_start_token_id = tokenizer.cls_token_id
        config.pad_token_id = tokenizer.pad_token_id
        config.eos_token_id = tokenizer.sep_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


async def watch(base: str, path: str, until: asyncio.Event, seen: list, every: float = 0.5) -> None:
    """GET base + path every `every` seconds until `until`: (monotonic time, status or error, Retry-After, body)."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        while not until.is_set():
            try:
                response = await client.get(path)
                seen.append((time.monotonic(), str(response.status_code), response.headers.get("retry-after"),
                             response.json() if response.headers.get("content-type", "").startswith("application/json")
                             else response.text[:200]))
            except httpx.HTTPError as exc:
                seen.append((time.monotonic(), type(exc).__name__, None, None))
            await asyncio.sleep(every)


async def wait_for(condition, timeout: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every)
    return True
