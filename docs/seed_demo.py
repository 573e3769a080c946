"""Seed an assistant home with a month of realistic shop traffic, for the dashboard's screenshots and demos.

    python docs/seed_demo.py --home DIR [--conversations 200] [--seed 7] [--reviews-zip PATH]
                             [--train-rows 20000] [--analyse-rows 3000]

All through the project's own code, into DIR (new or empty; prepared as `assistant serve` would): about 200
bilingual conversations drawn from knowledge/messages go through `Assistant.reply` (router, retriever and policy
label them and escalate the angry ones); the agent mei.lin (password dashboard-demo-2026) answers most escalations
(assistant.desk); customers rate some replies (`Assistant.feedback`). The rows are then spread over the last 30 days,
in order, agents answering minutes to hours after an escalation, with a burst of negative `shipping_time` messages in
the last day that the spike check (assistant.alerts.run_check) records as an alert. Reviews: with the
online_shopping_10_cats data set (--reviews-zip) a review model is trained on 20,000 of its rows and 3,000 others,
dated over 30 days with extra negatives for one category in the last day, are analysed (ui.review_analysis); without
it a small bilingual review file is analysed instead. Prints each step with its time, then what the home holds;
exits non-zero, naming the step, when one fails.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import logging
import math
import random
import re
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_ZIP = Path("/work/shared/data/online_shopping_10_cats/online_shopping_10_cats.zip")
AGENT, PASSWORD = "mei.lin", "dashboard-demo-2026"
SPIKE_INTENT = "shipping_time"          # customers' messages about it turn negative in the last day
SPIKE_CATEGORY = "平板"                  # the review category whose reviews turn negative in the last day

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
AGENT_REPLIES = {  # (English, Chinese) answers an agent gives, by the group of the escalated message's intent
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
    "refund": [
        ("I've checked: the refund was issued today and reaches your card within 3-5 working days.",
         "已为您查询：退款今天已发起，3-5个工作日内退回原支付账户。")],
    "payment": [
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
               **dict.fromkeys(["refund_status", "cancel_order"], "refund"),
               **dict.fromkeys(["payment_failed", "payment_methods"], "payment")}
THANKS = {"en": ["Thank you so much!", "Great, thanks for sorting it out.", "ok thanks"],
          "zh": ["好的，谢谢！", "谢谢你，辛苦了", "收到，谢谢"]}
SMALL_REVIEWS = {  # templates of the review file written when the data set is missing ({p}: the product)
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


class StepFailed(RuntimeError):
    """A step of the seeding or the screenshots failed; the message names it."""


def say(line: str) -> None:
    """A line of a step's progress, indented under it."""
    print("   " + line)


@contextlib.contextmanager
def step(name: str):
    """Print the step and its time; turn any exception into StepFailed naming the step."""
    print(f"-- {name} ...")
    started = time.perf_counter()
    try:
        yield
    except StepFailed:
        raise
    except Exception as exc:  # noqa: BLE001 (every failure is reported with its step)
        raise StepFailed(f"{name}: {exc.__class__.__name__}: {exc}") from exc
    print(f"   done in {time.perf_counter() - started:.1f} s")


# ---------------------------------------------------------------------------------------------- conversations


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


class Composer:
    """Draws customer turns from the knowledge's labelled messages, with product names and order ids sprinkled in."""

    SENTIMENT_MIX = {"neutral": 0.56, "negative": 0.22, "positive": 0.22}

    def __init__(self, rng: random.Random, knowledge):
        self.rng = rng
        self.pools: dict[tuple[str, str, str], list[str]] = defaultdict(list)  # (lang, intent, sentiment) -> texts
        for message in knowledge.messages:
            self.pools[(message.lang, message.intent, message.sentiment)].append(message.text)
        self.intents = sorted({intent for _, intent, _ in self.pools})
        self.orders = [f"MM2026{rng.randrange(10**4):04d}" for _ in range(60)]

    def pick(self, lang: str, intent: str, mix: dict[str, float] | None = None, used: set[str] = frozenset()):
        choices = [(s, w) for s, w in (mix or self.SENTIMENT_MIX).items() if self.pools.get((lang, intent, s))]
        if not choices:
            choices = [(s, 1.0) for s in ("neutral", "negative", "positive") if self.pools.get((lang, intent, s))]
        sentiment = self.rng.choices([s for s, _ in choices], [w for _, w in choices])[0]
        pool = self.pools[(lang, intent, sentiment)]
        text = self.rng.choice([t for t in pool if t not in used] or pool)
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
        """An optional greeting, the main question, maybe a follow-up and a thanks or goodbye (3 turns at most)."""
        rng, turns = self.rng, []
        if rng.random() < 0.2:
            turns.append(self.pick(lang, "greeting", {"neutral": 0.7, "positive": 0.3}))
        turns.append(self.pick(lang, primary))
        if rng.random() < 0.45:
            follow = primary if rng.random() < 0.55 or primary not in FOLLOW_UPS else rng.choice(FOLLOW_UPS[primary])
            mix = {"negative": 0.55, "neutral": 0.4, "positive": 0.05} if turns[-1][2] == "negative" else None
            turns.append(self.pick(lang, follow, mix, {t for t, _, _ in turns}))
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
        day = today - timedelta(days=rng.choices(range(days), [1.0 - 0.012 * d for d in range(days)])[0])
        if rng.random() > (0.75 if day.weekday() >= 5 else 1.0):
            continue
        moment = day + timedelta(hours=rng.choices(range(24), hours)[0], seconds=rng.uniform(0, 3600))
        if moment < now - timedelta(minutes=45):
            found.append(moment)
    return found


def new_plan(rng: random.Random, lang: str, turns: list, start: datetime, spike: bool = False) -> Plan:
    """A plan with an agent delay of minutes to hours (lognormal around 20 minutes, clipped to 2 minutes .. 9 hours);
    the late parcels of the spike are thanked and resolved less often."""
    delay = timedelta(minutes=min(max(rng.lognormvariate(math.log(20), 1.0), 2.0), 540.0))
    return Plan(lang, turns, start, delay, spike, thanks_after_agent=rng.random() < (0.3 if spike else 0.35),
                resolve=rng.random() < (0.4 if spike else 0.7))


def plan_conversations(rng: random.Random, composer: Composer, now: datetime, count: int) -> list[Plan]:
    """`count` conversations over 30 days, enough of the spike's intent before the last day, then its burst."""
    intents = [i for i in composer.intents if INTENT_WEIGHTS.get(i, 1.0) > 0]
    weights = [INTENT_WEIGHTS.get(i, 1.0) for i in intents]
    plans = []
    for start in start_times(rng, now, count):
        lang = "en" if rng.random() < 0.55 else "zh"
        plans.append(new_plan(rng, lang, composer.conversation(lang, rng.choices(intents, weights)[0]), start))
    # The spike check compares the last day with the 14 before it, counting conversations, and tests an intent
    # only with 20 conversations there: make sure the spike's intent has its ordinary traffic in those days
    # (with a margin for the router reading some of them as another intent).
    baseline = sum(any(intent == SPIKE_INTENT for _, intent, _ in p.turns) for p in plans
                   if now - timedelta(days=14.8) < p.start < now - timedelta(days=1.2))
    for _ in range(30 - baseline):
        start = now - timedelta(days=rng.uniform(1.2, 14.8))
        lang = "en" if rng.random() < 0.55 else "zh"
        plans.append(new_plan(rng, lang, composer.conversation(lang, SPIKE_INTENT), start))
    for _ in range(max(12, count // 12)):  # the last day's burst of late parcels
        lang = "en" if rng.random() < 0.5 else "zh"
        start = now - timedelta(hours=rng.uniform(0.75, 21.0))
        plans.append(new_plan(rng, lang, composer.spike_conversation(lang), start, spike=True))
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
        # An agent answers the escalations there was time to answer (most of them).
        escalated_at = plan.start + timedelta(minutes=2 * len(plan.turns))
        if replies[-1][0].status == "escalated" and escalated_at + plan.agent_delay + timedelta(minutes=20) < now \
                and rng.random() < (0.6 if plan.spike else 0.88):
            intent = next((r.intent for r, _ in replies if r.action == "escalate"), replies[0][0].intent)
            en, zh = rng.choice(AGENT_REPLIES[REPLY_GROUP.get(intent or "other", "other")])
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
            print(f"   {number}/{len(plans)} conversations")
    return seeded


def next_time(rng: random.Random, kind: str, role: str, before: str | None, plan: Plan,
              escalated_at: datetime | None, last: datetime) -> datetime:
    """When a row of `kind` (message, feedback, action) and `role` (its role or action) follows one at `last`."""
    if kind == "message" and role == "bot":
        return last + timedelta(seconds=rng.uniform(0.3, 1.8))
    if kind == "feedback":
        return last + timedelta(seconds=rng.uniform(4, 80))
    if kind == "action" and role == "take_over":
        return max((escalated_at or last) + plan.agent_delay, last + timedelta(seconds=30))
    if kind == "message" and role == "agent":
        return last + timedelta(seconds=rng.uniform(40, 200))
    if kind == "action":  # reply (logged with the agent's message), resolve
        return last + (timedelta(milliseconds=rng.uniform(5, 40)) if role == "reply"
                       else timedelta(minutes=rng.uniform(2, 25)))
    if kind == "message" and role == "customer":
        if before in ("reply", "agent"):
            return last + timedelta(minutes=rng.uniform(1, 8))
        return last + timedelta(seconds=min(max(rng.lognormvariate(math.log(70), 0.6), 15), 400))
    return last + timedelta(seconds=1)


def spread_over_days(engine, seeded: dict[str, Plan], rng: random.Random, now: datetime) -> None:
    """Give every row of each conversation its planned time: the order kept, the gaps a person would leave."""
    from sqlalchemy import literal, null, update
    from sqlmodel import select

    from assistant import store
    from assistant.tables import AgentAction, Conversation, Feedback, Message

    # kind -> (table, the row's role or action, the message's action); rows of one instant sort in this order.
    kinds = {"message": (Message, Message.role, Message.action), "feedback": (Feedback, literal("feedback"), null()),
             "action": (AgentAction, AgentAction.action, null())}
    with store.transaction(engine) as session:
        rows: dict[str, list[tuple]] = defaultdict(list)
        for order, (kind, (table, role, action)) in enumerate(kinds.items()):
            query = select(table.id, table.conversation_id, table.created_at, role, action)
            for row_id, conversation_id, created, what, message_action in session.exec(
                    query.where(table.conversation_id.in_(list(seeded)))):
                rows[conversation_id].append((created, order, row_id, kind, what, message_action))
        updates: dict[type, list[dict]] = defaultdict(list)
        for conversation_id, plan in seeded.items():
            moment, before, escalated_at = plan.start, None, None
            for index, (_, _, row_id, kind, role, action) in enumerate(sorted(rows[conversation_id])):
                last = moment
                if index:
                    moment = next_time(rng, kind, role, before, plan, escalated_at, last)
                if moment >= now:  # a late agent's answer would be in the future: halfway to now instead
                    moment = last + (now - last) / 2
                if kind == "message" and action == "escalate" and escalated_at is None:
                    escalated_at = moment
                if kind == "message" and role == "agent":
                    escalated_at = None
                updates[kinds[kind][0]].append({"id": row_id, "created_at": moment})
                before = role
            updates[Conversation].append({"id": conversation_id, "created_at": plan.start - timedelta(seconds=0.2),
                                          "updated_at": moment})
        for table, values in updates.items():
            session.execute(update(table), values)

# ---------------------------------------------------------------------------------------------- reviews


def review_date(rng: random.Random, now: datetime, last_day: bool = False) -> str:
    back = timedelta(hours=rng.uniform(0.5, 22.0)) if last_day else timedelta(days=rng.uniform(0.05, 29.5))
    return (now - back).strftime("%Y-%m-%d %H:%M:%S")


def write_csv(path: Path, header: list[str], rows) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_dataset_files(zip_path: Path, folder: Path, rng: random.Random, now: datetime, train_rows: int,
                        analyse_rows: int) -> tuple[Path, Path, str]:
    """From online_shopping_10_cats: a training CSV (cat,label,review) and a disjoint dated CSV to analyse
    (cat,review,date), mostly positive, with extra negative SPIKE_CATEGORY reviews in the last day."""
    with zipfile.ZipFile(zip_path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        with archive.open(name) as raw:
            rows = [(row["cat"], row["label"], text) for row in csv.DictReader(io.TextIOWrapper(raw, "utf-8-sig"))
                    if (text := (row.get("review") or "").replace("\ufeff", "").strip())]
    rng.shuffle(rows)
    train, rest = rows[:train_rows], rows[train_rows:]
    negative = [r for r in rest if r[1] == "0"]
    positive = [r for r in rest if r[1] == "1"]
    spike = [r for r in negative if r[0] == SPIKE_CATEGORY][:min(90, analyse_rows // 30)]
    taken = set(spike)
    negative = [r for r in negative if r not in taken]
    analyse = []
    for _ in range(analyse_rows - len(spike)):  # a shop's reviews are mostly positive
        pool = negative if rng.random() < 0.28 else positive
        analyse.append((*pool.pop(rng.randrange(len(pool))), review_date(rng, now)))
    analyse += [(*row, review_date(rng, now, last_day=True)) for row in spike]
    rng.shuffle(analyse)
    return (write_csv(folder / "reviews-train.csv", ["cat", "label", "review"], train),
            write_csv(folder / "reviews-last-30-days.csv", ["cat", "review", "date"],
                      [(cat, text, date) for cat, _, text, date in analyse]),
            f"{len(train)} training rows; {len(analyse)} analysed, {len(spike)} extra negative {SPIKE_CATEGORY} "
            f"reviews in the last day")


def write_small_review_file(folder: Path, rng: random.Random, now: datetime) -> tuple[Path, str]:
    """A bilingual review file (when the data set is missing): 240 rows over 30 days, earbuds souring lately."""
    names = [("Wireless earbuds", "earbuds", "无线耳机", 5), ("Smart watch", "smart watch", "智能手表", 3),
             ("Jacket", "jacket", "羽绒服", 3), ("Power bank", "power bank", "充电宝", 2),
             ("Shoes", "sneakers", "运动鞋", 2)]
    rows = []
    for index in range(240):
        spike = index >= 215
        name, en, zh, _ = names[0] if spike else rng.choices(names, [w for *_, w in names])[0]
        lang = "en" if rng.random() < 0.5 else "zh"
        label = "negative" if spike or rng.random() < 0.25 else "positive"
        text = rng.choice(SMALL_REVIEWS[lang][label]).format(p=en if lang == "en" else zh)
        rating = 5 if label == "positive" else rng.choice([1, 2])
        rows.append((name, text, review_date(rng, now, last_day=spike), rating))
    path = write_csv(folder / "reviews-last-30-days.csv", ["product", "review", "date", "rating"], rows)
    return path, "240 bilingual reviews written, 25 extra negative earbuds reviews in the last day"


def seed_reviews(settings, assistant, opts, rng: random.Random, now: datetime) -> None:
    """Train a review model on the data set (when there) and analyse a month of dated reviews: one review batch."""
    from finetune.args import ReviewTrainingArgs
    from ui.review_analysis import analyse_reviews, sentiment_reader, train_review_version

    runtime = assistant.runtime
    embedder = lambda: runtime.retriever.embedder  # noqa: E731 (the encoder already loaded, not a second copy)
    with tempfile.TemporaryDirectory(prefix="reviews-", dir=settings.home) as folder:
        if opts.reviews_zip.is_file():
            train_path, analyse_path, note = write_dataset_files(opts.reviews_zip, Path(folder), rng, now,
                                                                 opts.train_rows, opts.analyse_rows)
            say(note)
            version, metrics = train_review_version(settings, train_path, args=ReviewTrainingArgs(), embedder=embedder,
                                                    log=say)
            print(f"   review model {version}: held-out accuracy {metrics.get('holdout', {}).get('accuracy')}")
        else:
            analyse_path, note = write_small_review_file(Path(folder), rng, now)
            print(f"   {opts.reviews_zip} not found: {note}")
        reader = sentiment_reader(settings, runtime.knowledge, embedder=embedder, router=runtime.router)
        analysis = analyse_reviews(settings, assistant.engine, runtime.knowledge, analyse_path, reader=reader,
                                   name=analyse_path.name)
    print(f"   batch {analysis.result.batch_id} read by {analysis.model}; {len(analysis.alerts)} review alert(s)")


# ---------------------------------------------------------------------------------------------- the home


def open_home(home: Path):
    """(settings, a warmed-up Assistant) for `home`, prepared as `assistant serve` would; the periodic alert check
    is off (the seeding runs its own)."""
    from assistant.pipeline import Assistant
    from assistant.settings import Settings
    from ui.bootstrap import ensure_ready

    print(f"assistant home: {home}")
    with step("prepare the home (encoder, router, FAQ index, database)"):
        settings = Settings(home=home, alert_check_seconds=0)
        ensure_ready(settings, log=say, progress=False)
        assistant = Assistant(settings)
        assistant.warm_up()
    return settings, assistant


def seed(settings, assistant, opts) -> None:
    """Seed the agent, the conversations (spread over 30 days, with the spike's alert) and the reviews, as the
    options of `add_arguments` say."""
    from assistant import desk, store
    from assistant.alerts import AlertRule, message_counts, run_check

    rng, now = random.Random(opts.seed), datetime.now(timezone.utc)
    with step("add the agent account"), store.transaction(assistant.engine) as session:
        desk.add_agent(session, name=AGENT, password=PASSWORD)
    plans = plan_conversations(rng, Composer(rng, assistant.runtime.knowledge), now, opts.conversations)
    with step(f"seed {len(plans)} conversations through Assistant.reply"):
        seeded = seed_conversations(assistant, plans, rng, now)
    with step("spread them over the last 30 days"):
        spread_over_days(assistant.engine, seeded, rng, now)
    with step("spike check on messages"):
        alerts = run_check(assistant.engine, sources=("messages",))
        if not any(a.scope == "intent" for a in alerts):
            with store.transaction(assistant.engine) as session:
                counts = message_counts(session, now=datetime.now(timezone.utc), rule=AlertRule())
            raise StepFailed(f"no intent alert on messages (found {[(a.scope, a.key) for a in alerts]}); "
                             f"{SPIKE_INTENT} counts: {counts.get(('intent', SPIKE_INTENT))}")
    with step("reviews"):
        seed_reviews(settings, assistant, opts, rng, now)


def describe(engine) -> None:
    """Print what the home holds: rows by kind, the messages' time span, the alerts."""
    from sqlalchemy import func
    from sqlmodel import select

    from assistant import store
    from assistant.tables import AgentAction, Alert, Conversation, Feedback, Message, Review

    with step("count what the home holds"), store.transaction(engine) as session:
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
        if first is not None:
            say(f"messages from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC ({(last - first).days + 1} days)")
        for alert in session.exec(select(Alert).order_by(Alert.id)):
            say(f"alert: {alert.source} {alert.scope}={alert.key}: {alert.window_negative}/{alert.window_total} "
                f"in the last day vs {alert.baseline_negative}/{alert.baseline_total}, p={alert.p_value:.2g}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The seeding's options (shared with docs/dashboard_screenshot.py)."""
    parser.add_argument("--conversations", type=int, default=200, help="conversations spread over 30 days "
                        "(plus a burst of about a twelfth more in the last day)")
    parser.add_argument("--seed", type=int, default=7, help="the random seed of everything drawn")
    parser.add_argument("--reviews-zip", type=Path, default=DEFAULT_ZIP,
                        help="online_shopping_10_cats.zip; when missing, a small bilingual file is analysed instead")
    parser.add_argument("--train-rows", type=int, default=20_000, help="data set rows the review model learns from")
    parser.add_argument("--analyse-rows", type=int, default=3_000, help="other data set rows analysed as reviews")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a new or empty folder to seed")
    add_arguments(parser)
    opts = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="   %(levelname)s %(name)s: %(message)s")
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, also through a pipe
    home = opts.home.resolve()
    if home.exists() and any(home.iterdir()):
        print(f"{home} is not empty: give a new or empty folder", file=sys.stderr)
        return 2
    home.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        settings, assistant = open_home(home)
        seed(settings, assistant, opts)
        describe(assistant.engine)
    except StepFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"seeded in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
