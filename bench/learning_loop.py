"""The learning loop, end to end, on the sample shop: a topic the model has never seen, agents labelling
and answering it, a fine-tuning turn that learns it while a server keeps answering, then a poisoned
batch the gate rejects, and a rollback.

    python bench/learning_loop.py [--new 40] [--poison 300] [--home DIR] [--port 7963]

Customers talk to a real `assistant serve` on loopback through the HTTP API, and a steady trickle of
other customers (one message every 0.3 s, and /readyz every second) runs from start to end; agents
label, reply and approve answers through the desk functions the agent console calls; each turn is
the one `assistant finetune run` runs (approved answers into the index, then a candidate classifier
through the gate). Customers ask about gift cards (bench/data/new_intent_gift_cards.jsonl: N of them
are labelled and answered, the rest are asked before and after as the held-out check); the frozen
holdout is half of 140 agent-labelled paraphrases of the shop's FAQ (bench/data/faq_paraphrases.*).
Prints one JSON object at the end (figures in bench/README.md). Takes about ten minutes here.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/learning_loop.py` finds bench/

from assistant import desk, store  # noqa: E402
from bench.serving import start, wait_ready  # noqa: E402
from assistant.models import embedder_from_settings, encoder_folder
from assistant.registry import Registry
from assistant.settings import Settings
from finetune.args import ClassifierTrainingArgs, RouterTrainingArgs
from finetune.datasets import grow_holdout
from finetune.loop import GateConfig
from retrieval.knowledge import Knowledge, load_knowledge
from ui.bootstrap import ensure_ready
from ui.learning import holdout_path, learning_turn

DATA = Path(__file__).resolve().parent / "data"
NEW_INTENT = "gift_cards"
# What the agents answer the gift-card customers (and approve for the knowledge base).
ANSWERS = {
    "en": "Yes! We sell e-gift cards from 50 to 2,000 yuan: buy one under Gift cards on our site and it is "
          "e-mailed with its code. Redeem it at checkout; the balance shows under My account > Gift cards, "
          "and cards are valid for 3 years.",
    "zh": "有的！我们有50元到2000元的电子礼品卡，在官网“礼品卡”页面购买后卡密会发到您的邮箱。结账时输入卡密即可抵扣，"
          "余额可在“我的账户 > 礼品卡”查看，有效期3年。",
}


@dataclass
class Trickle:
    """Other customers, one message every `interval` seconds, and /readyz every second, until stopped."""

    base: str
    key: str
    texts: list[str]
    interval: float = 0.3
    requests: list[tuple[float, bool, str]] = field(default_factory=list)   # (time, ok, what)
    versions: list[tuple[float, str | None]] = field(default_factory=list)  # (time, serving classifier)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trickle", daemon=True)

    def start(self) -> "Trickle":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        rng = random.Random(1)
        with httpx.Client(base_url=self.base, timeout=30) as client:
            customer, last_health, sent = Customer(client, self.key), 0.0, 0
            while not self._stop.is_set():
                try:
                    customer.ask(rng.choice(self.texts), new=sent % 4 == 0)
                    self.requests.append((time.monotonic(), True, "message"))
                except (httpx.HTTPError, RuntimeError) as exc:
                    self.requests.append((time.monotonic(), False, f"message: {exc}"))
                sent += 1
                if time.monotonic() - last_health >= 1.0:
                    last_health = time.monotonic()
                    try:
                        health = client.get("/readyz")
                        health.raise_for_status()
                        self.versions.append((last_health, health.json()["models"].get("classifier")))
                        self.requests.append((last_health, True, "readyz"))
                    except httpx.HTTPError as exc:
                        self.requests.append((last_health, False, f"readyz: {exc}"))
                self._stop.wait(self.interval)

    def serving_since(self, version: str | None, after: float, timeout: float = 180.0) -> float:
        """When the server was first seen answering with this classifier version (after `after`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = [t for t, v in list(self.versions) if t > after and v == version]
            if seen:
                return seen[0]
            time.sleep(0.2)
        raise RuntimeError(f"the server did not start answering with classifier {version} within {timeout:.0f} s")

    def window(self, start: float, end: float) -> tuple[int, list[str]]:
        """(requests, failures) between two moments."""
        rows = [(ok, what) for t, ok, what in list(self.requests) if start <= t <= end]
        return len(rows), [what for ok, what in rows if not ok]


class Customer:
    """A customer of the shop's page, through the HTTP API (a new conversation when asked)."""

    def __init__(self, client: httpx.Client, key: str):
        self.client, self.key, self.conversation, self.token = client, key, None, None

    def ask(self, text: str, *, new: bool = True) -> dict:
        if new or self.conversation is None:
            started = self.client.post("/api/v1/conversations", headers={"Authorization": f"Bearer {self.key}"})
            if started.status_code != 201:
                raise RuntimeError(f"start: HTTP {started.status_code} {started.text[:200]}")
            self.conversation, self.token = started.json()["id"], started.json()["token"]
        sent = self.client.post(f"/api/v1/conversations/{self.conversation}/messages", json={"text": text},
                                headers={"Authorization": f"Bearer {self.token}"})
        if sent.status_code != 200:
            raise RuntimeError(f"message: HTTP {sent.status_code} {sent.text[:200]}")
        return sent.json()


class Agent:
    """An agent at the console: the same desk functions its buttons call, one transaction each."""

    def __init__(self, engine, knowledge: Knowledge, name: str):
        self.engine, self.base, self.name = engine, knowledge.intent_names, name
        with store.transaction(engine) as session:
            desk.add_agent(session, name=name, password="demo-password-" + name)

    def label(self, message_id: int, intent: str) -> None:
        with store.transaction(self.engine) as session:
            known = desk.known_intents(session, self.base)  # the console's intent list
            desk.correct(session, agent_name=self.name, message_id=message_id, intent=intent, intents=known,
                         new_intent=intent not in known)  # typed into "…or a new intent"

    def answer(self, conversation_id: str, text: str) -> None:
        with store.transaction(self.engine) as session:
            desk.take_over(session, agent_name=self.name, conversation_id=conversation_id)
        with store.transaction(self.engine) as session:
            desk.reply(session, agent_name=self.name, conversation_id=conversation_id, text=text)
        with store.transaction(self.engine) as session:
            desk.set_status(session, agent_name=self.name, conversation_id=conversation_id, status="resolved")

    def approve(self, message_id: int, text: str) -> None:
        with store.transaction(self.engine) as session:
            desk.approve_answer(session, agent_name=self.name, message_id=message_id, answer=text)


class Server:
    """`assistant serve` on loopback: a child process, or (given an Assistant) a thread of this process."""

    def __init__(self, settings: Settings, port: int, assistant=None):
        self.settings, self.port, self.assistant = settings, port, assistant
        self.base = f"http://127.0.0.1:{port}"

    def __enter__(self) -> "Server":
        if self.assistant is None:
            env = {**os.environ, "ASSISTANT_HOME": str(self.settings.home),
                   "ASSISTANT_KNOWLEDGE_DIR": str(self.settings.knowledge_dir), "ASSISTANT_PORT": str(self.port),
                   "ASSISTANT_RELOAD_SECONDS": str(self.settings.reload_seconds),
                   "ASSISTANT_API_RATE_PER_IP": "1000000", "ASSISTANT_API_RATE_PER_KEY": "1000000"}
            self.process = start(["serve"], env, stderr=subprocess.PIPE)
        else:
            import uvicorn

            from ui.app import create_app

            config = uvicorn.Config(create_app(self.settings, self.assistant), host="127.0.0.1", port=self.port,
                                    log_level="warning")
            self.uvicorn = uvicorn.Server(config)
            self.thread = threading.Thread(target=self.uvicorn.run, name="server", daemon=True)
            self.thread.start()
        wait_ready(self.base, self.process if self.assistant is None else None)
        return self

    def __exit__(self, *_) -> None:
        if self.assistant is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        else:
            self.uvicorn.should_exit = True
            self.thread.join(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def demonstrate(settings: Settings, *, n_new: int = 40, n_poison: int = 300, embedder=None,
                router_args: RouterTrainingArgs | None = None, classifier_args: ClassifierTrainingArgs | None = None,
                encoder: Path | None = None, gate: GateConfig = GateConfig(), port: int | None = None,
                in_process: bool = False, log=print) -> dict:
    """Run the whole demonstration on `settings.home` (bootstrapped when empty); returns the figures.

    `in_process` serves from a thread of this process with `embedder` (tests pass a fake one);
    otherwise `assistant serve` runs as a child process with the settings' own models.
    """
    started = time.monotonic()
    # Every simulated customer comes from 127.0.0.1: the per-address limit is for real shops.
    settings = settings.model_copy(update={"api_rate_per_ip": 10**6, "api_rate_per_key": 10**6})
    knowledge = load_knowledge(settings.knowledge_dir)
    ensure_ready(settings, embedder=embedder, args=router_args, log=log, progress=False)
    engine = store.make_engine(settings.db_url)
    store.migrate(engine)
    registry = Registry(settings.models_dir)
    encoder = encoder or encoder_folder(settings, log)
    classifier_args = classifier_args or ClassifierTrainingArgs()
    holdout_file = holdout_path(settings)
    loop_embedder = embedder or embedder_from_settings(settings)

    gift = read_jsonl(DATA / "new_intent_gift_cards.jsonl")
    per_lang = {lang: [r["text"] for r in gift if r["lang"] == lang] for lang in ("en", "zh")}
    half = n_new // 2
    taught = per_lang["en"][:half] + per_lang["zh"][:n_new - half]
    held_out = per_lang["en"][half:] + per_lang["zh"][n_new - half:]
    intent_of = {e.id: e.intent for e in knowledge.faq}
    old = [(r["text"], intent_of[r["faq_id"]]) for lang in ("en", "zh")
           for r in read_jsonl(DATA / f"faq_paraphrases.{lang}.jsonl")]

    with store.transaction(engine) as session:
        _, key = store.create_api_key(session, name=f"demo-{time.time_ns()}")
    agent = Agent(engine, knowledge, "mei")
    assistant = None
    if in_process:
        from assistant.pipeline import Assistant

        assistant = Assistant(settings, embedder=embedder)
    with Server(settings, port or free_port(), assistant) as server, httpx.Client(base_url=server.base,
                                                                                   timeout=60) as client:
        trickle = Trickle(server.base, key, [text for text, _ in old[::7]]).start()
        customer = Customer(client, key)

        def new_intent_share(texts: list[str]) -> tuple[float, float]:
            """(share read as the new intent, share answered from an agent-approved entry), through the API."""
            replies = [customer.ask(text) for text in texts]
            return (round(sum(r["intent"] == NEW_INTENT for r in replies) / len(replies), 4),
                    round(sum((r["template_id"] or "").startswith("agent-") for r in replies) / len(replies), 4))

        def turn() -> dict:
            """What `assistant finetune run` does."""
            return learning_turn(settings, knowledge, engine, loop_embedder, encoder, args=classifier_args, gate=gate,
                                 log=log, progress=False)

        before, answered_before = new_intent_share(held_out)
        log(f"Before: {before:.0%} of {len(held_out)} held-out gift-card messages read as {NEW_INTENT}")

        log(f"Agents label {len(old)} conversations about the shop's usual topics; half become the frozen holdout")
        for text, intent in old:
            asked = customer.ask(text)
            agent.label(asked["customer_message_id"], intent)
        grown = grow_holdout(holdout_file, engine, fraction=0.5, seed=0)

        log(f"{n_new} customers ask about gift cards; agents label ({NEW_INTENT}, a new intent) and answer them")
        approved_langs: set[str] = set()
        for text in taught:
            asked = customer.ask(text)
            agent.label(asked["customer_message_id"], NEW_INTENT)
            lang = "zh" if text in per_lang["zh"] else "en"
            agent.answer(asked["conversation_id"], ANSWERS[lang])
            if lang not in approved_langs:  # the first of each language is approved for the knowledge base
                agent.approve(asked["customer_message_id"], ANSWERS[lang])
                approved_langs.add(lang)

        log("Fine-tuning turn 1 (the server keeps answering) ...")
        loop_started = time.monotonic()
        good = turn()
        loop_seconds = time.monotonic() - loop_started
        if not good["promoted"]:
            raise RuntimeError(f"the candidate was not promoted: {good['reasons']}")
        promoted = good["version"].split("/")[1]
        swapped = trickle.serving_since(promoted, after=loop_started)
        time.sleep(3)  # and a few seconds after the swap
        swap_requests, swap_failures = trickle.window(loop_started, time.monotonic())
        after, answered_after = new_intent_share(held_out)
        log(f"After: {after:.0%} read as {NEW_INTENT}; {answered_after:.0%} answered from an approved answer")

        rng = random.Random(7)
        poison = rng.sample(list(knowledge.messages), n_poison)
        labels = [m.intent for m in poison]
        rng.shuffle(labels)
        log(f"A poisoned batch: {n_poison} conversations labelled with shuffled intents "
            f"({sum(a != m.intent for a, m in zip(labels, poison))} wrong)")
        for message, wrong in zip(poison, labels):
            asked = customer.ask(message.text)
            agent.label(asked["customer_message_id"], wrong)
        poisoned = turn()

        log("Rollback ...")
        rollback_started = time.monotonic()
        back_to = registry.rollback("classifier")
        trickle.serving_since(back_to, after=rollback_started)
        time.sleep(3)
        rollback_requests, rollback_failures = trickle.window(rollback_started, time.monotonic())
        after_rollback, _ = new_intent_share(held_out)
        trickle.stop()
        all_requests, all_failures = trickle.window(0, time.monotonic())

    cand, act = good["candidate"]["holdout"], good["active"]["holdout"]
    drops = {f"holdout {h}": round(100 * (act[h] - cand[h]), 2) for h in ("intent", "sentiment") if h in cand and h in act}
    per_intent = {i: round(100 * (act["per_intent"][i] - cand["per_intent"].get(i, 0)), 2)
                  for i, n in _counts(good).items() if n >= 3 and i in act["per_intent"]}
    return {
        "n_new_intent_conversations": n_new, "n_held_out_new_intent": len(held_out),
        "new_intent_accuracy_before": before, "new_intent_accuracy_after": after,
        "answered_from_approved_before": answered_before, "answered_from_approved_after": answered_after,
        "max_regression": max(drops.values()), "regressions_points": drops,
        "worst_intent_regression": max(per_intent.items(), key=lambda kv: kv[1]) if per_intent else None,
        "holdout_messages": good["n_holdout"], "holdout_grown": grown,
        "holdout_intent_accuracy": {"active": act.get("intent"), "candidate": cand.get("intent")},
        "promoted": good["version"], "approved_answers": good["knowledge"],
        "poisoned_promoted": poisoned["promoted"], "poisoned_reasons": poisoned["reasons"],
        "poisoned_version": poisoned["version"],
        "poisoned_holdout_intent_accuracy": {part: poisoned.get(part, {}).get("holdout", {}).get("intent")
                                             for part in ("active", "candidate")},
        "rolled_back_to": back_to or "router (the first classifier was deactivated)",
        "new_intent_accuracy_after_rollback": after_rollback,
        "failed_requests_during_swap": len(swap_failures), "requests_during_swap": swap_requests,
        "swap_seconds_after_promotion": round(swapped - loop_started - loop_seconds, 1),
        "failed_requests_during_rollback": len(rollback_failures), "requests_during_rollback": rollback_requests,
        "failed_requests_total": len(all_failures), "requests_total": all_requests,
        "failures": all_failures[:5],
        "loop_seconds": round(loop_seconds, 1), "poisoned_loop_seconds": poisoned["seconds"],
        "seconds": round(time.monotonic() - started, 1),
    }


def _counts(result: dict) -> dict[str, int]:
    """Holdout messages per intent (from the candidate's confusion matrix)."""
    return {i: sum(row.values()) for i, row in result["candidate"]["holdout"].get("confusion", {}).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", type=int, default=40, help="gift-card conversations agents label and answer")
    parser.add_argument("--poison", type=int, default=300, help="conversations of the poisoned batch")
    parser.add_argument("--home", type=Path, default=None, help="an empty folder (default: a temporary one)")
    parser.add_argument("--port", type=int, default=7963)
    opts = parser.parse_args()
    home = opts.home or Path(tempfile.mkdtemp(prefix="assistant-loop-"))
    if home.exists() and any(home.iterdir()):
        parser.error(f"{home} is not empty: the demonstration needs a fresh home")
    settings = Settings(home=home, reload_seconds=1.0)
    result = demonstrate(settings, n_new=opts.new, n_poison=opts.poison, port=opts.port,
                         log=lambda m: print(m, file=sys.stderr, flush=True))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
