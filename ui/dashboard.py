"""The operators' dashboard (Gradio), mounted at `/dashboard` behind the console's login: what the
conversations say (volume, intents, sentiment, escalations, ratings), the questions the bot answered
poorly grouped into topics whose agent answers can join the knowledge base, and extra tabs passed in.

The figures come from module-level functions of (assistant, start, end), so they test without a browser.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

import gradio as gr
import pandas as pd

from assistant import analytics, store
from assistant.analytics import Topic
from assistant.errors import EXPECTED_ERRORS
from assistant.pipeline import Assistant
from ui.console import approve_from_screen
from assistant.tables import utcnow

log = logging.getLogger(__name__)

RANGES = (("Last 7 days · 近7天", "7"), ("Last 30 days · 近30天", "30"), ("Last 90 days · 近90天", "90"),
          ("All time · 全部", "all"))
DEFAULT_RANGE = "30"
NO_DATA = "_No data in this range · 此时间段内没有数据_"
NO_ANSWER = "(no agent answer yet)"
# Poorly answered messages read at most (newest first); how alike two must be to share a topic is a setting.
TOPIC_MESSAGES = 500
TOPIC_COLUMNS = ["size", "representative question", "intent", "reasons", "agent answer"]
SENTIMENT_COLORS = {"negative": "#dc2626", "neutral": "#a8a29e", "positive": "#16a34a"}
RATING_COLORS = {"up": "#16a34a", "down": "#dc2626"}


def time_range(assistant: Assistant, choice: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """(start, end) of a range choice: whole UTC days up to now, today included; "all" from the first message."""
    now = now or utcnow()
    today = datetime.combine(now.date(), time(), tzinfo=timezone.utc)
    if choice == "all":
        with store.transaction(assistant.engine) as session:
            first = analytics.first_activity(session)
        start = datetime.combine(first.date(), time(), tzinfo=timezone.utc) if first and first < today else today
    else:
        start = today - timedelta(days=int(choice) - 1)
    return start, now + timedelta(microseconds=1)  # what is written at `now` is in range


def _frame(rows: list[tuple], columns: dict[str, str]) -> pd.DataFrame:
    """A frame with typed columns even when empty (the plots read the column types)."""
    frame = pd.DataFrame(rows, columns=list(columns))
    return frame.astype({name: kind for name, kind in columns.items() if kind != "datetime64[ns]"}).assign(
        **{name: pd.to_datetime(frame[name]) for name, kind in columns.items() if kind == "datetime64[ns]"})


DAY = {"day": "datetime64[ns]"}


@dataclass(frozen=True)
class Overview:
    volume: pd.DataFrame        # day, series (conversations | customer messages), count
    intents: pd.DataFrame       # intent, messages
    escalations: pd.DataFrame   # day, escalation rate (%)
    response: pd.DataFrame      # day, statistic (median | p90), minutes
    ratings: pd.DataFrame       # day (text), rating (up | down), count
    summary: str


def overview(assistant: Assistant, start: datetime, end: datetime) -> Overview:
    """The Overview tab's figures."""
    with store.transaction(assistant.engine) as session:
        volume = analytics.messages_per_day(session, start=start, end=end)
        intents = analytics.intent_distribution(session, start=start, end=end)
        escalations = analytics.escalations_per_day(session, start=start, end=end)
        response = analytics.response_times_per_day(session, start=start, end=end)
        ratings = analytics.ratings_per_day(session, start=start, end=end)
    conversations, messages = sum(d.conversations for d in volume), sum(d.customer_messages for d in volume)
    waiting = sum(d.unanswered for d in response)
    summary = NO_DATA if not (conversations or messages or ratings.up + ratings.down) else (
        f"**{conversations}** conversations · **{messages}** customer messages · "
        f"**{sum(d.escalations for d in response)}** escalations ({waiting} still without an agent's reply) · "
        f"thumbs down **{ratings.down_share:.0%}** of {ratings.up + ratings.down} ratings")
    return Overview(
        volume=_frame([(d.day, series, count) for d in volume for series, count in
                       (("conversations", d.conversations), ("customer messages", d.customer_messages))],
                      {**DAY, "series": "str", "count": "int64"}),
        intents=_frame([(i.intent, i.count) for i in intents], {"intent": "str", "messages": "int64"}),
        escalations=_frame([(d.day, 100 * d.rate) for d in escalations if d.active],
                           {**DAY, "escalation rate (%)": "float64"}),
        response=_frame([(d.day, name, value / 60) for d in response for name, value in
                         (("median", d.median_seconds), ("p90", d.p90_seconds)) if value is not None],
                        {**DAY, "statistic": "str", "minutes": "float64"}),
        ratings=_frame([(d.day.isoformat(), rating, count) for d in ratings.days if d.up + d.down
                        for rating, count in (("up", d.up), ("down", d.down))],
                       {"day": "str", "rating": "str", "count": "int64"}),
        summary=summary)


@dataclass(frozen=True)
class Sentiment:
    over_time: pd.DataFrame     # day, sentiment, messages
    by_intent: pd.DataFrame     # intent, negative share (%), messages
    summary: str


def sentiment(assistant: Assistant, start: datetime, end: datetime) -> Sentiment:
    """The Sentiment tab's figures."""
    with store.transaction(assistant.engine) as session:
        days = analytics.sentiment_per_day(session, start=start, end=end)
        intents = analytics.sentiment_by_intent(session, start=start, end=end)
    total = sum(i.total for i in intents)
    negative = sum(i.negative for i in intents)
    return Sentiment(
        over_time=_frame([(d.day, label, getattr(d, label)) for d in days for label in SENTIMENT_COLORS],
                         {**DAY, "sentiment": "str", "messages": "int64"}),
        by_intent=_frame([(i.intent, 100 * i.negative_share, i.total) for i in intents],
                         {"intent": "str", "negative share (%)": "float64", "messages": "int64"}),
        summary=f"**{negative / total:.0%}** of {total} customer messages negative" if total else NO_DATA)


@dataclass(frozen=True)
class Entities:
    products: pd.DataFrame      # product, negative messages
    orders: pd.DataFrame        # order, negative messages
    summary: str


def entities(assistant: Assistant, start: datetime, end: datetime, top: int = 15) -> Entities:
    """The Products & orders tab's figures: what negative customer messages name most."""
    with store.transaction(assistant.engine) as session:
        found = analytics.negative_entities(session, start=start, end=end, top=top)
    frame = lambda kind, column: _frame([(e.value, e.count) for e in found if e.kind == kind],  # noqa: E731
                                        {column: "str", "negative messages": "int64"})
    return Entities(frame("product", "product"), frame("order_id", "order"), "" if found else NO_DATA)


def poor_topics(assistant: Assistant, start: datetime, end: datetime, *, limit: int = TOPIC_MESSAGES,
                threshold: float | None = None) -> list[Topic]:
    """Poorly answered customer messages of the range, grouped into topics with the retriever's embedder
    (the one already loaded) and the policy's answer threshold; `threshold` defaults to the encoder's."""
    runtime = assistant.runtime
    threshold = assistant.settings.topic_threshold if threshold is None else threshold
    with store.transaction(runtime.engine) as session:
        poor = analytics.poorly_answered(session, start=start, end=end, min_score=runtime.policy.min_answer_score,
                                         limit=limit)
    return analytics.group_topics(poor, runtime.retriever.embedder, threshold=threshold)


def topics_frame(topics: Sequence[Topic]) -> pd.DataFrame:
    return _frame([(t.size, t.question, t.intent, ", ".join(t.reasons), t.answer or NO_ANSWER) for t in topics],
                  dict.fromkeys(TOPIC_COLUMNS, "str") | {"size": "int64"})


def topic_details(topic: Topic | None) -> tuple[str, str, int | None]:
    """(examples as HTML, the answer to prefill, the customer message an approval attaches to)."""
    if topic is None:
        return "<p>Select a topic in the table · 请选择一个主题</p>", "", None
    items = "".join(f"<li>{html.escape(text)}</li>" for text in topic.examples)
    more = f"<p>…and {topic.size - len(topic.examples)} more</p>" if topic.size > len(topic.examples) else ""
    return (f"<p><b>{topic.size}</b> messages, intent <b>{html.escape(topic.intent)}</b></p><ul>{items}</ul>{more}",
            topic.answer or "", topic.answer_message_id or topic.question_id)


def build_dashboard(assistant: Assistant,
                    extra_tabs: Sequence[Callable[[Assistant, gr.Blocks], object]] = ()) -> gr.Blocks:
    """The dashboard; each of `extra_tabs` is called as `tab(assistant, page)` inside its tabs and creates its own
    `gr.Tab` (and may register `page.load` events)."""
    private = {"api_visibility": "private"}

    def refresh(choice):
        try:
            start, end = time_range(assistant, choice)
            o, s, e = overview(assistant, start, end), sentiment(assistant, start, end), entities(assistant, start, end)
        except EXPECTED_ERRORS as exc:
            log.error("dashboard not loaded: %s", exc)
            gr.Warning(f"The figures could not be loaded: {exc}")
            return [gr.update()] * 12
        return (o.summary, o.volume, o.intents, o.escalations, o.response, o.ratings,
                s.summary, s.over_time, s.by_intent, e.summary, e.products, e.orders)

    def load_topics(choice):
        try:
            topics = poor_topics(assistant, *time_range(assistant, choice))
        except EXPECTED_ERRORS as exc:
            log.error("topics not loaded: %s", exc)
            gr.Warning(f"The poorly answered questions could not be loaded: {exc}")
            return gr.update(), gr.update(), gr.update(), *topic_details(None)
        note = (f"**{sum(t.size for t in topics)}** poorly answered customer messages in **{len(topics)}** topics"
                if topics else NO_DATA)
        return note, topics_frame(topics), topics, *topic_details(None)

    def pick(topics, event: gr.SelectData):
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        return topic_details(topics[row] if topics and 0 <= row < len(topics) else None)

    def approve(message_id, text, request: gr.Request):
        if not message_id:
            gr.Warning("Select a topic first · 请先选择主题")
            return text
        return approve_from_screen(assistant, agent_name=request.username, message_id=message_id, text=text)

    with gr.Blocks(title="Shop analytics · 数据看板") as dashboard:
        gr.Markdown("## Shop analytics · 数据看板")
        with gr.Row():
            period = gr.Radio(choices=list(RANGES), value=DEFAULT_RANGE, label="Time range (UTC days) · 时间范围",
                              scale=4)
            refresh_button = gr.Button("Refresh · 刷新", size="sm", scale=1)
        with gr.Tabs():
            with gr.Tab("Overview · 概览"):
                overview_note = gr.Markdown()
                with gr.Row():
                    volume_plot = gr.LinePlot(x="day", y="count", color="series",
                                              label="Conversations and customer messages per day · 每日会话与消息")
                    intents_plot = gr.BarPlot(y_lim=[0, None], x="intent", y="messages", sort="-y", x_label_angle=-45,
                                              label="Customer messages per intent · 意图分布")
                with gr.Row():
                    escalation_plot = gr.LinePlot(x="day", y="escalation rate (%)",
                                                  label="Conversations escalated per day · 每日转人工率")
                    response_plot = gr.LinePlot(x="day", y="minutes", color="statistic",
                                                label="Agent's first reply after an escalation · 人工首次响应时间")
                ratings_plot = gr.BarPlot(y_lim=[0, None], x="day", y="count", color="rating", color_map=RATING_COLORS,
                                          x_label_angle=-45,
                                          label="Customer ratings per day · 每日客户评价")
            with gr.Tab("Sentiment · 情绪"):
                sentiment_note = gr.Markdown()
                over_time_plot = gr.LinePlot(x="day", y="messages", color="sentiment", color_map=SENTIMENT_COLORS,
                                             label="Customer messages per sentiment and day · 每日情绪")
                negative_plot = gr.BarPlot(y_lim=[0, None], x="intent", y="negative share (%)", sort="-y", x_label_angle=-30,
                                           tooltip=["intent", "negative share (%)", "messages"],
                                           label="Negative share per intent · 各意图负面占比")
            with gr.Tab("Answered poorly · 待改进回答"):
                topics_note = gr.Markdown()
                topics_table = gr.Dataframe(headers=TOPIC_COLUMNS, interactive=False, wrap=True,
                                            column_widths=["7%", "33%", "12%", "18%", "30%"],
                                            label="Topics: weak retrieval, thumbs down or escalated · 回答欠佳的问题")
                topics = gr.State([])
                selected = gr.State(None)
                examples = gr.HTML(topic_details(None)[0])
                answer = gr.Textbox(label="Answer for the knowledge base (edit before adding) · 答案", lines=4)
                add = gr.Button("Add this answer to the knowledge base · 加入知识库", variant="primary")
            with gr.Tab("Products & orders · 商品与订单"):
                entities_note = gr.Markdown()
                with gr.Row():
                    products_plot = gr.BarPlot(y_lim=[0, None], x="product", y="negative messages", sort="-y", x_label_angle=-30,
                                               label="Products named in negative messages · 负面消息提到的商品")
                    orders_plot = gr.BarPlot(y_lim=[0, None], x="order", y="negative messages", sort="-y", x_label_angle=-30,
                                             label="Orders named in negative messages · 负面消息提到的订单")
            for tab in extra_tabs:
                tab(assistant, dashboard)

        figures = [overview_note, volume_plot, intents_plot, escalation_plot, response_plot, ratings_plot,
                   sentiment_note, over_time_plot, negative_plot, entities_note, products_plot, orders_plot]
        topic_outputs = [topics_note, topics_table, topics, examples, answer, selected]
        for trigger in (refresh_button.click, period.change, dashboard.load):
            # The figures first; the topics (which embed up to TOPIC_MESSAGES texts) follow.
            trigger(refresh, [period], figures, **private).then(load_topics, [period], topic_outputs, **private)
        topics_table.select(pick, [topics], [examples, answer, selected], **private)
        add.click(approve, [selected, answer], [answer], **private)
    return dashboard
