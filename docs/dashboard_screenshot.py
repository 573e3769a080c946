"""Seed a throwaway assistant home with a month of realistic traffic, serve it, and screenshot every tab of the
operators' dashboard (`/dashboard`) for the docs.

    python docs/dashboard_screenshot.py [--home DIR] [--out-dir docs] [--conversations 200] [--seed 7]
                                        [--reviews-zip PATH] [--keep] [--reuse]

What it does, all through the project's own code:
1. Seeds ASSISTANT_HOME (a new temporary folder unless --home names an empty one): the router and FAQ index are
   built as `assistant serve` would; ~200 bilingual conversations from knowledge/messages/*.jsonl go through
   `Assistant.reply` (so the router, retriever and policy label them and escalate the angry ones); an agent takes
   over and answers most escalations (assistant.desk); customers rate some replies (`Assistant.feedback`). The
   rows are then spread over the last 30 days (conversation, message, feedback and agent-action times, in order,
   with agents answering minutes to hours after an escalation), with a burst of negative `shipping_time`
   messages in the last day, so that the spike check (assistant.alerts.run_check) records an alert.
   Reviews: with the online_shopping_10_cats data set (--reviews-zip) a review model is trained on 20,000 of its
   rows and 3,000 others, dated over 30 days with extra negatives for one category in the last day, are
   analysed (ui.review_analysis); without it a small bilingual review file is written and analysed instead.
2. Serves the real app (ui.app.create_app) with uvicorn on 127.0.0.1 and a free port.
3. Logs in as the agent with Debian's Chromium through Playwright and saves one full-page PNG per tab:
   dashboard-overview.png, -sentiment, -poorly-answered, -products, -reviews, -alerts.

Needs `pip install playwright` and a Chromium on PATH (Debian: `apt-get install chromium fonts-noto-cjk`);
Playwright's own browser download is not used. Exits non-zero, saying which step failed, when one does.
Takes a few minutes on two cores (most of it training and reading the reviews, and the first model load).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import logging
import math
import os
import random
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_ZIP = Path("/work/shared/data/online_shopping_10_cats/online_shopping_10_cats.zip")
AGENT, PASSWORD = "mei.lin", "dashboard-demo-2026"
SPIKE_INTENT = "shipping_time"          # customers' messages about it turn negative in the last day
SPIKE_CATEGORY = "平板"                  # the review category whose reviews turn negative in the last day
TABS = [  # (tab label, file name)
    ("Overview · 概览", "dashboard-overview.png"),
    ("Sentiment · 情绪", "dashboard-sentiment.png"),
    ("Answered poorly · 待改进回答", "dashboard-poorly-answered.png"),
    ("Products & orders · 商品与订单", "dashboard-products.png"),
    ("Reviews · 商品评论", "dashboard-reviews.png"),
    ("Alerts · 预警", "dashboard-alerts.png"),
]
NO_AGENT_ANSWER = "(no agent answer yet)"

# How often a conversation is mainly about each intent (others: 1).
INTENT_WEIGHTS = {"order_status": 4.0, SPIKE_INTENT: 5.0, "return_request": 2.5, "refund_status": 2.0,
                  "damaged_item": 2.0, "stock_and_sizes": 1.5, "product_specs": 1.5, "payment_failed": 1.2,
                  "complaint": 1.0, "ask_human": 0.6, "greeting": 0.0, "thanks": 0.0, "goodbye": 0.0,
                  "out_of_scope": 0.6}
FOLLOW_UPS = {"order_status": ["shipping_time", "change_address", "cancel_order"],
              "shipping_time": ["order_status", "shipping_cost"],
              "return_request": ["refund_status", "exchange"], "damaged_item": ["return_request", "exchange"],
              "wrong_item": ["exchange", "return_request"], "cancel_order": ["refund_status"],
              "payment_failed": ["payment_methods", "coupons_promotions"], "refund_status": ["ask_human"],
              "stock_and_sizes": ["price_question", "shipping_time"], "product_specs": ["price_question"],
              "complaint": ["ask_human", "refund_status"]}
PRODUCT_INTENTS = {"damaged_item", "wrong_item", "return_request", "exchange", "warranty_repair", "complaint",
                   "stock_and_sizes", "product_specs", "refund_status"}
ORDER_INTENTS = {"order_status", "shipping_time", "refund_status", "cancel_order", "damaged_item", "wrong_item",
                 "change_address", "return_request", "complaint", "exchange"}
# (alias as a customer writes it in English, in Chinese, weight): earbuds draw the most complaints.
PRODUCTS = [("earbuds", "蓝牙耳机", 6), ("smart watch", "智能手表", 4), ("laptop", "笔记本电脑", 3),
            ("jacket", "羽绒服", 4), ("power bank", "充电宝", 3), ("phone case", "手机壳", 2), ("shoes", "运动鞋", 3),
            ("jeans", "牛仔裤", 2), ("tablet", "平板电脑", 2), ("speaker", "蓝牙音箱", 1), ("hoodie", "卫衣", 1),
            ("keyboard", "键盘", 1)]
AGENT_REPLIES = {
    "delivery": [
        ("I'm sorry for the wait. I checked with the courier: your parcel is at the local depot and will be "
         "delivered within 2 days, and I've upgraded it to express handling at no cost.",
         "抱歉让您久等了。我已联系快递公司：包裹已到达本地站点，两天内送达，并已免费为您升级加急配送。"),
        ("The courier had a backlog at the sorting centre this week. Your parcel left it this morning; you'll get "
         "a tracking update by e-mail tonight.",
         "本周分拣中心积压，您的包裹今天上午已发出，今晚您会收到物流更新邮件。")],
    "item": [
        ("Sorry about that! I've arranged a free replacement and a prepaid return label; the courier picks up the "
         "item within 2 working days.",
         "非常抱歉！已为您安排免费换货，并生成预付退货标签，快递员将在2个工作日内上门取件。"),
        ("Thanks for the photos. I've approved the return: the refund goes out as soon as the parcel is scanned "
         "by the courier, no need to wait for it to reach us.",
         "感谢您提供照片。退货已审核通过：快递揽收后即为您退款，无需等待商品寄回仓库。")],
    "money": [
        ("I've checked: the refund was issued today and reaches your card within 3-5 working days.",
         "已为您查询：退款今天已发起，3-5个工作日内退回原支付账户。"),
        ("The payment was declined by the bank's fraud check, not by us. I've reset the order so you can pay "
         "again; PayPal or Alipay also work.",
         "这笔支付被银行风控拦截，并非我们拒绝。订单已重置，您可以重新支付，也可以使用PayPal或支付宝。")],
    "other": [
        ("Thank you for telling us, and sorry for the trouble. I've taken over your case and a 10% coupon is on "
         "its way to your account.",
         "感谢您的反馈，给您带来麻烦非常抱歉。我已接手处理，并向您的账户发放了一张九折优惠券。"),
        ("Hi, this is Mei from the support team. I've read the conversation and fixed it on our side; let me know "
         "if anything is still unclear.",
         "您好，我是客服小梅。我已看过聊天记录并在后台为您处理好了，如还有疑问请随时告诉我。")],
}
REPLY_GROUP = {**dict.fromkeys(["order_status", "shipping_time", "change_address", "shipping_cost"], "delivery"),
               **dict.fromkeys(["damaged_item", "wrong_item", "exchange", "return_request", "warranty_repair",
                                "stock_and_sizes", "product_specs"], "item"),
               **dict.fromkeys(["refund_status", "payment_failed", "cancel_order", "payment_methods",
                                "invoice", "coupons_promotions", "price_question"], "money")}
THANKS = {"en": ["Thank you so much!", "Great, thanks for sorting it out.", "ok thanks"],
          "zh": ["好的，谢谢！", "谢谢你，辛苦了", "收到，谢谢"]}


class StepFailed(RuntimeError):
    pass


@contextlib.contextmanager
def step(name: str):
    """Print the step and its time; turn any exception into StepFailed naming the step."""
    print(f"-- {name} ...", flush=True)
    started = time.perf_counter()
    try:
        yield
    except StepFailed:
        raise
    except Exception as exc:  # noqa: BLE001 (every failure is reported with its step)
        raise StepFailed(f"{name}: {exc.__class__.__name__}: {exc}") from exc
    print(f"   done in {time.perf_counter() - started:.1f} s", flush=True)


# ---------------------------------------------------------------------------------------------- seeding


@dataclass
class Plan:
    """One conversation to seed: its customer turns, when it starts, how long an agent takes to answer."""

    lang: str
    turns: list[tuple[str, str, str]]   # (text, intent, sentiment) as labelled in the knowledge
    start: datetime
    agent_delay: timedelta
    spike: bool = False
    thanks_after_agent: bool = False
    resolve: bool = False
    reply_ids: list = field(default_factory=list)


def load_messages() -> dict[tuple[str, str, str], list[str]]:
    """{(lang, intent, sentiment): [text, ...]} from the knowledge's labelled customer messages."""
    import json

    pools: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for path in sorted((REPO / "knowledge" / "messages").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                pools[(row["lang"], row["intent"], row["sentiment"])].append(row["text"])
    return pools


class Composer:
    """Draws customer turns from the labelled messages, with product names and order ids sprinkled in."""

    SENTIMENT_MIX = {"neutral": 0.56, "negative": 0.22, "positive": 0.22}

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.pools = load_messages()
        self.intents = sorted({intent for _, intent, _ in self.pools})
        self.orders = [f"MM2026{rng.randrange(10**4):04d}" for _ in range(60)]

    def pick(self, lang: str, intent: str, mix: dict[str, float] | None = None, used: set[str] = frozenset()):
        mix = mix or self.SENTIMENT_MIX
        choices = [(s, w) for s, w in mix.items() if self.pools.get((lang, intent, s))]
        if not choices:
            choices = [(s, 1.0) for s in ("neutral", "negative", "positive") if self.pools.get((lang, intent, s))]
        sentiment = self.rng.choices([s for s, _ in choices], [w for _, w in choices])[0]
        texts = [t for t in self.pools[(lang, intent, sentiment)] if t not in used] or self.pools[(lang, intent, sentiment)]
        text = self.rng.choice(texts)
        return self.decorate(text, lang, intent, sentiment), intent, sentiment

    def decorate(self, text: str, lang: str, intent: str, sentiment: str) -> str:
        """A negative message sometimes names the product or the order (what the Products tab counts)."""
        if sentiment != "negative":
            return text
        rng, extra = self.rng, []
        if intent in PRODUCT_INTENTS and rng.random() < 0.55:
            en, zh, _ = rng.choices(PRODUCTS, [w for *_, w in PRODUCTS])[0]
            extra.append(("it's the " + en) if lang == "en" else f"是{zh}")
        if intent in ORDER_INTENTS and not re.search(r"MM\d{8}", text) and rng.random() < 0.45:
            order = rng.choices(self.orders, [1 / (rank + 2) for rank in range(len(self.orders))])[0]  # a few recur
            extra.append(f"order {order}" if lang == "en" else f"订单号{order}")
        if not extra:
            return text
        return text.rstrip(" .!?") + (" - " + ", ".join(extra) if lang == "en" else "，" + "，".join(extra))

    def conversation(self, lang: str, primary: str) -> list[tuple[str, str, str]]:
        rng, used, turns = self.rng, set(), []
        if rng.random() < 0.2:
            turns.append(self.pick(lang, "greeting", {"neutral": 0.7, "positive": 0.3}))
        turns.append(self.pick(lang, primary))
        if rng.random() < 0.45:
            if rng.random() < 0.55 or primary not in FOLLOW_UPS:
                follow = primary
            else:
                follow = rng.choice(FOLLOW_UPS[primary])
            mix = {"negative": 0.55, "neutral": 0.4, "positive": 0.05} if turns[-1][2] == "negative" else None
            used.update(t for t, _, _ in turns)
            turns.append(self.pick(lang, follow, mix, used))
        if len(turns) < 3 and rng.random() < 0.25:
            turns.append(self.pick(lang, rng.choice(["thanks", "goodbye"]), {"positive": 0.7, "neutral": 0.3}))
        return turns[:3]

    def spike_conversation(self, lang: str) -> list[tuple[str, str, str]]:
        """A customer whose parcel is late, in the last day: one or two negative messages about shipping."""
        turns = [self.pick(lang, SPIKE_INTENT, {"negative": 0.9, "neutral": 0.1})]
        if self.rng.random() < 0.5:
            turns.append(self.pick(lang, SPIKE_INTENT, {"negative": 1.0}, {turns[0][0]}))
        return turns


def start_times(rng: random.Random, now: datetime, count: int, days: int = 30) -> list[datetime]:
    """Conversation starts over the last `days` days: a little growth, quieter weekends, busy evenings (UTC+8)."""
    today = datetime(now.year, now.month, now.day, tzinfo=timezone.utc)
    hours = [0.3, 0.8, 1.5, 2.0, 2.2, 2.0, 1.8, 1.6, 1.4, 1.5, 1.8, 2.2, 2.6, 2.8, 2.5, 1.8, 1.0, 0.5, 0.2, 0.1,
             0.1, 0.1, 0.1, 0.2]  # UTC hours: Beijing's daytime and evening, then Europe's
    found = []
    while len(found) < count:
        back = rng.choices(range(days), [1.0 - 0.012 * d for d in range(days)])[0]
        day = today - timedelta(days=back)
        weight = 0.75 if day.weekday() >= 5 else 1.0
        if rng.random() > weight:
            continue
        moment = day + timedelta(hours=rng.choices(range(24), hours)[0], seconds=rng.uniform(0, 3600))
        if moment < now - timedelta(minutes=45):
            found.append(moment)
    return found


def agent_delay(rng: random.Random) -> timedelta:
    """Minutes to hours: a lognormal around 20 minutes, clipped to 2 minutes .. 9 hours."""
    return timedelta(minutes=min(max(rng.lognormvariate(math.log(20), 1.0), 2.0), 540.0))


def plan_conversations(rng: random.Random, composer: Composer, now: datetime, count: int) -> list[Plan]:
    intents = [i for i in composer.intents if INTENT_WEIGHTS.get(i, 1.0) > 0]
    weights = [INTENT_WEIGHTS.get(i, 1.0) for i in intents]
    plans = []
    for start in start_times(rng, now, count):
        lang = "en" if rng.random() < 0.55 else "zh"
        primary = rng.choices(intents, weights)[0]
        plans.append(Plan(lang, composer.conversation(lang, primary), start, agent_delay(rng),
                          thanks_after_agent=rng.random() < 0.35, resolve=rng.random() < 0.7))
    # The spike check compares the last day with the 14 before it, counting conversations, and tests an intent
    # only with 20 conversations there: make sure the spike's intent has its ordinary traffic in those days
    # (with a margin for the router reading some of them as another intent).
    baseline = lambda: sum(any(intent == SPIKE_INTENT for _, intent, _ in p.turns) for p in plans  # noqa: E731
                           if now - timedelta(days=14.8) < p.start < now - timedelta(days=1.2))
    while baseline() < 30:
        start = now - timedelta(days=rng.uniform(1.2, 14.8))
        lang = "en" if rng.random() < 0.55 else "zh"
        plans.append(Plan(lang, composer.conversation(lang, SPIKE_INTENT), start, agent_delay(rng),
                          thanks_after_agent=rng.random() < 0.35, resolve=rng.random() < 0.7))
    for _ in range(max(12, count // 12)):  # the last day's burst of late parcels
        lang = "en" if rng.random() < 0.5 else "zh"
        start = now - timedelta(hours=rng.uniform(0.75, 21.0))
        plans.append(Plan(lang, composer.spike_conversation(lang), start, agent_delay(rng), spike=True,
                          thanks_after_agent=rng.random() < 0.3, resolve=rng.random() < 0.4))
    return plans


def seed_conversations(assistant, plans: list[Plan], rng: random.Random, now: datetime) -> dict[str, Plan]:
    """Run the plans through the assistant and the agents' desk; returns {conversation id: plan}."""
    from assistant import desk, store

    seeded: dict[str, Plan] = {}
    for number, plan in enumerate(plans, start=1):
        conversation_id, replies = None, []
        for text, _, sentiment in plan.turns:
            reply = assistant.reply(conversation_id, text)
            conversation_id = reply.conversation_id
            replies.append((reply, sentiment))
        seeded[conversation_id] = plan
        for reply, sentiment in replies:  # thumbs up and down on some answers
            if reply.message_id and reply.action in ("answer", "clarify") and rng.random() < 0.32:
                down = rng.random() < (0.55 if sentiment == "negative" or reply.action == "clarify" else 0.12)
                assistant.feedback(conversation_id, reply.message_id, -1 if down else 1)
        status = replies[-1][0].status
        # An agent answers the escalations there was time to answer (most of them).
        escalated_at = plan.start + timedelta(minutes=2 * len(plan.turns))
        if status == "escalated" and escalated_at + plan.agent_delay + timedelta(minutes=20) < now \
                and rng.random() < (0.6 if plan.spike else 0.88):
            intent = replies[0][0].intent or "other"
            en, zh = rng.choice(AGENT_REPLIES[REPLY_GROUP.get(intent, "other")])
            with store.transaction(assistant.engine) as session:
                desk.take_over(session, agent_name=AGENT, conversation_id=conversation_id)
            with store.transaction(assistant.engine) as session:
                desk.reply(session, agent_name=AGENT, conversation_id=conversation_id,
                           text=en if plan.lang == "en" else zh)
            if plan.thanks_after_agent:
                assistant.reply(conversation_id, rng.choice(THANKS[plan.lang]))
            if plan.resolve:
                with store.transaction(assistant.engine) as session:
                    desk.set_status(session, agent_name=AGENT, conversation_id=conversation_id, status="resolved")
        if number % 25 == 0:
            print(f"   {number}/{len(plans)} conversations", flush=True)
    return seeded


def spread_over_days(assistant, seeded: dict[str, Plan], rng: random.Random, now: datetime) -> None:
    """Give every row of each conversation its planned time: the order kept, the gaps a person would leave."""
    from sqlalchemy import update
    from sqlmodel import select

    from assistant import store
    from assistant.tables import AgentAction, Conversation, Feedback, Message

    def gap(previous: tuple, current: tuple, plan: Plan, escalated_at: datetime | None, last: datetime) -> datetime:
        kind, role = current[0], current[2]
        before = previous[2] if previous else None
        if kind == "message" and role == "bot":
            return last + timedelta(seconds=rng.uniform(0.3, 1.8))
        if kind == "feedback":
            return last + timedelta(seconds=rng.uniform(4, 80))
        if kind == "action" and role == "take_over":
            wanted = (escalated_at or last) + plan.agent_delay
            return max(wanted, last + timedelta(seconds=30))
        if kind == "message" and role == "agent":
            return last + timedelta(seconds=rng.uniform(40, 200))
        if kind == "action":  # reply (logged with the agent's message), resolve
            return last + (timedelta(milliseconds=rng.uniform(5, 40)) if role == "reply"
                           else timedelta(minutes=rng.uniform(2, 25)))
        if kind == "message" and role == "customer":
            if before == "reply" or before == "agent":
                return last + timedelta(minutes=rng.uniform(1, 8))
            return last + timedelta(seconds=min(max(rng.lognormvariate(math.log(70), 0.6), 15), 400))
        return last + timedelta(seconds=1)

    with store.transaction(assistant.engine) as session:
        ids = list(seeded)
        rows: dict[str, list[tuple]] = defaultdict(list)
        for message_id, conversation_id, role, action, created in session.exec(
                select(Message.id, Message.conversation_id, Message.role, Message.action, Message.created_at)
                .where(Message.conversation_id.in_(ids))):
            rows[conversation_id].append(("message", message_id, role, created, 0, action))
        for feedback_id, conversation_id, created in session.exec(
                select(Feedback.id, Feedback.conversation_id, Feedback.created_at).where(Feedback.conversation_id.in_(ids))):
            rows[conversation_id].append(("feedback", feedback_id, "feedback", created, 1, None))
        for action_id, conversation_id, action, created in session.exec(
                select(AgentAction.id, AgentAction.conversation_id, AgentAction.action, AgentAction.created_at)
                .where(AgentAction.conversation_id.in_(ids))):
            rows[conversation_id].append(("action", action_id, action, created, 2, None))
        updates = {"message": [], "feedback": [], "action": [], "conversation": []}
        for conversation_id, plan in seeded.items():
            events = sorted(rows[conversation_id], key=lambda r: (r[3], r[4], r[1]))
            moment = last = plan.start
            previous, escalated_at = None, None
            for index, event in enumerate(events):
                if index:
                    moment = gap(previous, event, plan, escalated_at, moment)
                if moment >= now:  # a late agent's answer would be in the future: halfway to now instead
                    moment = last + (now - last) / 2
                last = moment
                if event[0] == "message" and event[5] == "escalate" and escalated_at is None:
                    escalated_at = moment
                if event[0] == "message" and event[2] == "agent":
                    escalated_at = None
                updates[event[0]].append({"id": event[1], "created_at": moment})
                previous = event
            updates["conversation"].append({"id": conversation_id, "created_at": plan.start - timedelta(seconds=0.2),
                                            "updated_at": moment})
        for kind, table in (("message", Message), ("feedback", Feedback), ("action", AgentAction),
                            ("conversation", Conversation)):
            if updates[kind]:
                session.execute(update(table), updates[kind])


# ---------------------------------------------------------------------------------------------- reviews


def dataset_rows(path: Path) -> list[tuple[str, str, str]]:
    """(cat, label, review) rows of online_shopping_10_cats, read from its zip."""
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        with archive.open(name) as raw:
            reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig"))
            return [(row["cat"], row["label"], text) for row in reader
                    if (text := (row.get("review") or "").replace("\ufeff", "").strip())]


def review_date(rng: random.Random, now: datetime, last_day: bool = False) -> str:
    back = timedelta(hours=rng.uniform(0.5, 22.0)) if last_day else timedelta(days=rng.uniform(0.05, 29.5))
    return (now - back).strftime("%Y-%m-%d %H:%M:%S")


def write_dataset_files(rows, folder: Path, rng: random.Random, now: datetime, train_rows: int,
                        analyse_rows: int) -> tuple[Path, Path, str]:
    """A training CSV (cat,label,review) and a disjoint dated CSV to analyse (cat,review,date)."""
    rows = list(rows)
    rng.shuffle(rows)
    train, rest = rows[:train_rows], rows[train_rows:]
    train_path = folder / "reviews-train.csv"
    with train_path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["cat", "label", "review"])
        writer.writerows(train)
    negative = [r for r in rest if r[1] == "0"]
    positive = [r for r in rest if r[1] == "1"]
    spike_pool = [r for r in negative if r[0] == SPIKE_CATEGORY]
    extra = min(90, len(spike_pool), analyse_rows // 30)
    spike = spike_pool[:extra]
    taken = set(spike)
    negative = [r for r in negative if r not in taken]
    analyse = []
    for _ in range(analyse_rows - extra):  # a shop's reviews are mostly positive
        pool = negative if rng.random() < 0.28 else positive
        analyse.append((*pool.pop(rng.randrange(len(pool))), review_date(rng, now)))
    analyse += [(*row, review_date(rng, now, last_day=True)) for row in spike]
    rng.shuffle(analyse)
    analyse_path = folder / "reviews-last-30-days.csv"
    with analyse_path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["cat", "review", "date"])
        writer.writerows([(cat, text, date) for cat, _, text, date in analyse])
    return train_path, analyse_path, f"{len(train)} training rows; {len(analyse)} analysed, {extra} extra negative " \
                                     f"{SPIKE_CATEGORY} reviews in the last day"


SMALL_REVIEWS = {
    "en": {"positive": ["Love the {p}, works perfectly and the delivery was fast.",
                        "Great quality {p} for the price, would buy again.",
                        "The {p} arrived well packed and looks exactly like the photos.",
                        "Customer service helped me pick the right size of {p}, very happy."],
           "negative": ["The {p} broke after two days, really poor quality.",
                        "Delivery took two weeks and the {p} box was crushed.",
                        "Overpriced {p}, not worth the money at all.",
                        "The {p} stopped working and support never replied to my refund request."]},
    "zh": {"positive": ["{p}很好用，物流也很快，五星好评！", "{p}质量不错，性价比很高，还会回购。",
                        "包装很仔细，{p}和图片一模一样。", "客服态度很好，帮我选了合适的{p}。"],
           "negative": ["{p}用了两天就坏了，质量太差。", "快递太慢了，等了两个星期，{p}的盒子还压坏了。",
                        "{p}价格太贵，一点也不值。", "{p}出了故障，申请退款客服一直不回复。"]},
}


def write_small_review_file(folder: Path, rng: random.Random, now: datetime) -> tuple[Path, str]:
    """A bilingual review file (when the data set is missing): 240 rows over 30 days, earbuds souring lately."""
    names = [("Wireless earbuds", "earbuds", "无线耳机", 5), ("Smart watch", "smart watch", "智能手表", 3),
             ("Jacket", "jacket", "羽绒服", 3), ("Power bank", "power bank", "充电宝", 2), ("Shoes", "sneakers", "运动鞋", 2)]
    rows = []
    for index in range(240):
        spike = index >= 215
        name, en, zh, _ = names[0] if spike else rng.choices(names, [w for *_, w in names])[0]
        lang = "en" if rng.random() < 0.5 else "zh"
        label = "negative" if spike or rng.random() < 0.25 else "positive"
        text = rng.choice(SMALL_REVIEWS[lang][label]).format(p=en if lang == "en" else zh)
        rows.append((name, text, review_date(rng, now, last_day=spike), 5 if label == "positive" else rng.choice([1, 2])))
    path = folder / "reviews-last-30-days.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["product", "review", "date", "rating"])
        writer.writerows(rows)
    return path, "240 bilingual reviews written (the data set is missing), 25 extra negative earbuds reviews in the last day"


# ---------------------------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(app, port: int):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                if response.status == 200:
                    return server, thread
        except OSError:
            time.sleep(0.3)
    raise StepFailed(f"the app did not answer on port {port} within 60 s")


# ---------------------------------------------------------------------------------------------- browser

RENDERED_JS = """() => {
  const visible = e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length) &&
                       getComputedStyle(e).visibility !== 'hidden';
  const busy = [...document.querySelectorAll('.pending, .eta-bar, .progress-text, .loader')].filter(visible);
  const plots = [...document.querySelectorAll('.vega-embed')].filter(visible);
  const drawn = plots.filter(p => p.querySelector('canvas, svg'));
  return {busy: busy.length, plots: plots.length, drawn: drawn.length};
}"""


def wait_rendered(page, min_plots: int, timeout_s: float = 60.0) -> dict:
    """Wait until no visible component is pending and at least `min_plots` visible plots are drawn."""
    deadline = time.monotonic() + timeout_s
    state = {}
    while time.monotonic() < deadline:
        state = page.evaluate(RENDERED_JS)
        if not state["busy"] and state["drawn"] >= min_plots and state["drawn"] == state["plots"]:
            page.wait_for_timeout(1500)  # the plots' own transitions
            return state
        page.wait_for_timeout(400)
    raise StepFailed(f"the tab did not finish rendering in {timeout_s:.0f} s: {state}")


def open_tab(page, label: str) -> None:
    tab = page.get_by_role("tab", name=label, exact=True)
    if not tab.count() or not tab.first.is_visible():
        # Tabs that do not fit the bar are in Gradio's overflow menu.
        page.locator(".overflow-menu button, button.overflow-menu, [class*=overflow] button").first.click()
        page.wait_for_timeout(300)
        page.get_by_role("button", name=label, exact=True).or_(page.get_by_text(label, exact=True)).first.click()
    else:
        tab.first.click()
    page.wait_for_timeout(600)


def select_topic(page) -> str:
    """Click the first topic row that has an agent's answer (else the first row); returns the answer box's text."""
    cell = lambda row, column: page.locator(f"[data-testid=cell-{row}-{column}]:visible")  # noqa: E731
    cell(0, 1).wait_for(timeout=30_000)
    chosen = 0
    for row in range(8):
        if not cell(row, 4).count():
            break
        if NO_AGENT_ANSWER not in cell(row, 4).inner_text():
            chosen = row
            break
    cell(chosen, 1).click()
    page.wait_for_function("() => [...document.querySelectorAll('p')].some(p => / messages, intent /.test(p.innerText))",
                           timeout=15_000)
    page.wait_for_timeout(800)
    return page.locator("textarea:visible").last.input_value()


def screenshots(url: str, out_dir: Path, width: int) -> list[Path]:
    from playwright.sync_api import sync_playwright

    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser_path:
        raise StepFailed("no chromium on PATH: apt-get install chromium fonts-noto-cjk")
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page(viewport={"width": width, "height": 900}, locale="en-US")
        with step("open /dashboard and log in"):
            page.goto(f"{url}/dashboard/", wait_until="load")
            password = page.locator("input[type=password]")
            password.wait_for(timeout=30_000)
            page.locator("input:not([type=password]):visible, textarea:visible").first.fill(AGENT)
            password.fill(PASSWORD)
            page.get_by_role("button", name=re.compile(r"^\s*log\s*in\s*$", re.I)).first.click()
            page.get_by_text("Shop analytics · 数据看板").first.wait_for(timeout=60_000)
        with step("wait for the figures"):
            page.get_by_text(re.compile(r"\d+ conversations · ")).first.wait_for(timeout=90_000)
        plots = {"dashboard-overview.png": 5, "dashboard-sentiment.png": 2, "dashboard-products.png": 2}
        for label, name in TABS:
            with step(f"tab {label}"):
                open_tab(page, label)
                wait_rendered(page, plots.get(name, 0))
                if name == "dashboard-poorly-answered.png":
                    page.get_by_text(re.compile(r"poorly answered customer messages in")).first.wait_for(
                        timeout=120_000)
                    answer = select_topic(page)
                    print(f"   topic selected; the answer box holds {len(answer)} characters", flush=True)
                if name == "dashboard-reviews.png":
                    page.locator("img:visible").nth(2).wait_for(timeout=30_000)
                    page.wait_for_function("() => [...document.querySelectorAll('img')].filter(i => i.offsetWidth)"
                                           ".every(i => i.complete && i.naturalWidth > 0)", timeout=30_000)
                if name == "dashboard-alerts.png":
                    page.locator("[data-testid=cell-0-4]:visible").wait_for(timeout=30_000)  # a window count
                path = out_dir / name
                page.screenshot(path=str(path), full_page=True)
                written.append(path)
                print(f"   saved {path}", flush=True)
        browser.close()
    return written


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an empty folder to seed (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home (its path is printed)")
    parser.add_argument("--reuse", action="store_true", help="with --home: serve an already seeded home as it is")
    parser.add_argument("--out-dir", type=Path, default=REPO / "docs")
    parser.add_argument("--conversations", type=int, default=200, help="conversations spread over 30 days "
                        "(plus a burst of about a twelfth more in the last day)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reviews-zip", type=Path, default=DEFAULT_ZIP,
                        help="online_shopping_10_cats.zip; when missing, a small bilingual file is analysed instead")
    parser.add_argument("--train-rows", type=int, default=20_000)
    parser.add_argument("--analyse-rows", type=int, default=3_000)
    parser.add_argument("--width", type=int, default=1280)
    opts = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="   %(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    temporary = opts.home is None
    home = Path(tempfile.mkdtemp(prefix="dashboard-shots-")) if temporary else opts.home.resolve()
    if opts.reuse and not (home / "assistant.db").is_file():
        print(f"--reuse: {home} has no assistant.db to serve", file=sys.stderr)
        return 2
    if not temporary and not opts.reuse and home.exists() and any(home.iterdir()):
        print(f"{home} is not empty: give an empty folder (or --reuse to serve what it holds)", file=sys.stderr)
        return 2
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    server = None
    try:
        server = run(opts, home)
    except StepFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.should_exit = True
        if temporary and not opts.keep:
            shutil.rmtree(home, ignore_errors=True)
        elif temporary:
            print(f"home kept: {home}")
    print(f"all done in {time.perf_counter() - started:.0f} s")
    return 0


def run(opts, home: Path):
    from assistant import desk, store
    from assistant.alerts import run_check
    from assistant.pipeline import Assistant
    from assistant.settings import Settings
    from assistant.tables import Alert, AgentAction, Conversation, Feedback, Message, Review
    from finetune.args import ReviewTrainingArgs
    from sqlalchemy import func
    from sqlmodel import select
    from ui.app import create_app
    from ui.bootstrap import ensure_ready
    from ui.review_analysis import analyse_reviews, sentiment_reader, train_review_version

    print(f"assistant home: {home}")
    settings = Settings(home=home, alert_check_seconds=0)
    rng = random.Random(opts.seed)
    with step("prepare the home (encoder, router, FAQ index, database)"):
        ensure_ready(settings, log=lambda line: print("   " + line, flush=True), progress=False)
        assistant = Assistant(settings)
        assistant.warm_up()
    if not opts.reuse:
        now = datetime.now(timezone.utc)
        with step("add the agent account"):
            with store.transaction(assistant.engine) as session:
                desk.add_agent(session, name=AGENT, password=PASSWORD)
        composer = Composer(rng)
        plans = plan_conversations(rng, composer, now, opts.conversations)
        with step(f"seed {len(plans)} conversations through Assistant.reply"):
            seeded = seed_conversations(assistant, plans, rng, now)
        with step("spread them over the last 30 days"):
            spread_over_days(assistant, seeded, rng, now)
        with step("spike check on messages"):
            alerts = run_check(assistant.engine, sources=("messages",))
            if not any(a.scope == "intent" for a in alerts):
                from assistant.alerts import AlertRule, message_counts
                with store.transaction(assistant.engine) as session:
                    counts = message_counts(session, now=datetime.now(timezone.utc), rule=AlertRule())
                raise StepFailed(f"no intent alert on messages (found {[(a.scope, a.key) for a in alerts]}); "
                                 f"{SPIKE_INTENT} counts: {counts.get(('intent', SPIKE_INTENT))}")
        with step("reviews"):
            folder = Path(tempfile.mkdtemp(prefix="reviews-", dir=home))
            runtime = assistant.runtime
            if opts.reviews_zip.is_file():
                rows = dataset_rows(opts.reviews_zip)
                train_path, analyse_path, note = write_dataset_files(rows, folder, rng, now, opts.train_rows,
                                                                     opts.analyse_rows)
                print(f"   {note}", flush=True)
                version, metrics = train_review_version(
                    settings, train_path, args=ReviewTrainingArgs(), embedder=lambda: runtime.retriever.embedder,
                    log=lambda line: print("   " + line, flush=True))
                print(f"   review model {version}: held-out accuracy {metrics.get('holdout', {}).get('accuracy')}")
            else:
                analyse_path, note = write_small_review_file(folder, rng, now)
                print(f"   {opts.reviews_zip} not found: {note}", flush=True)
            reader = sentiment_reader(settings, runtime.knowledge, embedder=lambda: runtime.retriever.embedder,
                                      router=runtime.router)
            analysis = analyse_reviews(settings, assistant.engine, runtime.knowledge, analyse_path, reader=reader,
                                       name=analyse_path.name)
            print(f"   batch {analysis.result.batch_id} read by {analysis.model}; "
                  f"{len(analysis.alerts)} review alert(s)", flush=True)
            shutil.rmtree(folder, ignore_errors=True)
    with step("count what the home holds"), store.transaction(assistant.engine) as session:
        count = lambda query: session.exec(query).one()  # noqa: E731
        first, last = count(select(func.min(Message.created_at), func.max(Message.created_at)))
        print("seeded:", ", ".join(f"{name} {value}" for name, value in [
            ("conversations", count(select(func.count()).select_from(Conversation))),
            ("customer messages", count(select(func.count()).where(Message.role == "customer"))),
            ("bot messages", count(select(func.count()).where(Message.role == "bot"))),
            ("agent messages", count(select(func.count()).where(Message.role == "agent"))),
            ("escalations", count(select(func.count(func.distinct(Message.conversation_id)))
                                  .where(Message.action == "escalate"))),
            ("ratings", count(select(func.count()).select_from(Feedback))),
            ("agent actions", count(select(func.count()).select_from(AgentAction))),
            ("reviews", count(select(func.count()).select_from(Review)))]))
        print(f"   messages from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC "
              f"({(last - first).days + 1} days)")
        for alert in session.exec(select(Alert).order_by(Alert.id)):
            print(f"   alert: {alert.source} {alert.scope}={alert.key}: {alert.window_negative}/{alert.window_total} "
                  f"in the last day vs {alert.baseline_negative}/{alert.baseline_total}, p={alert.p_value:.2g}")
    with step("start the app"):
        port = free_port()
        server, _ = serve(create_app(settings, assistant), port)
        print(f"   http://127.0.0.1:{port}/dashboard/ (agent {AGENT!r})", flush=True)
    try:
        screenshots(f"http://127.0.0.1:{port}", opts.out_dir, opts.width)
    finally:
        server.should_exit = True
    return server


if __name__ == "__main__":
    sys.exit(main())
