from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import gradio as gr
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from assistant import desk, store
from assistant.analytics import ESCALATED, THUMBS_DOWN
from assistant.errors import InvalidInput
from assistant.tables import ApprovedAnswer
from ui import dashboard
from ui.app import create_app
from ui.console import approve_for_knowledge


def test_the_dashboard_refuses_visitors_without_a_login(fake_assistant):
    with store.transaction(fake_assistant.engine) as session:
        desk.add_agent(session, name="lin", password="s3cret-pass")
    client = TestClient(create_app(fake_assistant.settings, fake_assistant))
    assert client.get("/dashboard/config").status_code == 401
    bad = client.post("/dashboard/login", data={"username": "lin", "password": "wrong"})
    assert bad.status_code == 400 and client.get("/dashboard/config").status_code == 401
    good = client.post("/dashboard/login", data={"username": "lin", "password": "s3cret-pass"})
    assert good.status_code == 200 and client.get("/dashboard/config").status_code == 200
    labels = {c.get("props", {}).get("label") for c in client.get("/dashboard/config").json()["components"]}
    assert {"Overview · 概览", "Answered poorly · 待改进回答"} <= labels


def test_the_dashboard_builds_with_the_extra_tabs_inside_its_tabs(fake_assistant):
    from ui.dashboard_feedback import alerts_tab, reviews_tab

    config = dashboard.build_dashboard(fake_assistant, extra_tabs=[reviews_tab, alerts_tab]).config
    components = {c["id"]: c for c in config["components"]}

    def nodes(node):
        yield node
        for child in node.get("children", []):
            yield from nodes(child)

    [tabs] = [n for n in nodes(config["layout"]) if components.get(n["id"], {}).get("type") == "tabs"]
    assert [components[child["id"]]["props"]["label"] for child in tabs["children"]] == [
        "Overview · 概览", "Sentiment · 情绪", "Answered poorly · 待改进回答", "Products & orders · 商品与订单",
        "Reviews · 商品评论", "Alerts · 预警"]


def test_an_empty_range_gives_empty_plots_and_a_note(fake_assistant):
    start, end = dashboard.time_range(fake_assistant, "all")
    assert end - start < timedelta(days=1)  # no messages yet: all time is today
    figures = dashboard.overview(fake_assistant, start, end)
    assert figures.summary == dashboard.NO_DATA and figures.volume["count"].sum() == 0
    assert figures.intents.empty and figures.escalations.empty and figures.response.empty and figures.ratings.empty
    feelings, named = dashboard.sentiment(fake_assistant, start, end), dashboard.entities(fake_assistant, start, end)
    assert feelings.summary == named.summary == dashboard.NO_DATA
    assert dashboard.poor_topics(fake_assistant, start, end) == [] and dashboard.topics_frame([]).empty
    for frame, plot in ((figures.volume, gr.LinePlot(x="day", y="count", color="series")),
                        (figures.intents, gr.BarPlot(x="intent", y="messages")),
                        (figures.response, gr.LinePlot(x="day", y="minutes", color="statistic")),
                        (named.products, gr.BarPlot(x="product", y="negative messages"))):
        assert plot.postprocess(frame).datatypes[plot.x] in ("temporal", "nominal")


def test_time_ranges_are_whole_utc_days_up_to_now(fake_assistant):
    now = datetime(2026, 11, 28, 15, 30, tzinfo=timezone.utc)
    start, end = dashboard.time_range(fake_assistant, "7", now=now)
    assert start == datetime(2026, 11, 22, tzinfo=timezone.utc) and end > now
    assert dashboard.time_range(fake_assistant, "30", now=now)[0] == datetime(2026, 10, 30, tzinfo=timezone.utc)


@pytest.fixture
def busy_assistant(fake_assistant):
    """Four real turns: an order question, a request for a person (answered by an agent), a thumbs down."""
    bot = fake_assistant
    asked = bot.reply(None, "where is my order MM20261104?")
    again = bot.reply(asked.conversation_id, "how much is shipping to Canada?")
    bot.feedback(asked.conversation_id, again.message_id, -1)
    human = bot.reply(None, "I want to talk to a human about my refund")
    other = bot.reply(None, "我想退货，怎么操作？")
    with store.transaction(bot.engine) as session:
        desk.add_agent(session, name="lin", password="s3cret-pass")
        desk.take_over(session, agent_name="lin", conversation_id=human.conversation_id)
        desk.reply(session, agent_name="lin", conversation_id=human.conversation_id,
                   text="Refunds reach your card within 5 working days.")
    return bot, [asked, again, human, other]


def test_the_figures_follow_the_conversations(busy_assistant):
    bot, replies = busy_assistant
    asked, again, human, other = replies
    assert human.action == "escalate"
    start, end = dashboard.time_range(bot, "7")
    figures = dashboard.overview(bot, start, end)
    volume = figures.volume.groupby("series")["count"].sum().to_dict()
    assert volume == {"conversations": 3, "customer messages": 4}
    assert dict(zip(figures.intents["intent"], figures.intents["messages"])) == Counter(r.intent for r in replies)
    today = figures.escalations.iloc[-1]
    assert today["escalation rate (%)"] == pytest.approx(100 / 3)  # one of today's three conversations
    assert list(figures.response["statistic"]) == ["median", "p90"] and (figures.response["minutes"] >= 0).all()
    assert dict(zip(figures.ratings["rating"], figures.ratings["count"])) == {"up": 0, "down": 1}
    assert "**3** conversations" in figures.summary and "thumbs down **100%** of 1 ratings" in figures.summary

    feelings = dashboard.sentiment(bot, start, end)
    assert feelings.over_time["messages"].sum() == 4
    assert dict(Counter(r.sentiment for r in replies)) == {
        k: v for k, v in feelings.over_time.groupby("sentiment")["messages"].sum().items() if v}


def test_poorly_answered_topics_and_approving_their_answer(busy_assistant):
    bot, (asked, again, human, other) = busy_assistant
    topics = dashboard.poor_topics(bot, *dashboard.time_range(bot, "7"))
    by_question = {message_id: t for t in topics for message_id in t.message_ids}
    escalated = by_question[human.customer_message_id]
    assert ESCALATED in escalated.reasons
    assert escalated.answer == "Refunds reach your card within 5 working days."
    assert escalated.answer_message_id == human.customer_message_id
    assert THUMBS_DOWN in by_question[again.customer_message_id].reasons
    table = dashboard.topics_frame(topics)
    assert list(table.columns) == dashboard.TOPIC_COLUMNS and table["size"].sum() == sum(t.size for t in topics)
    assert by_question[again.customer_message_id].answer is None and dashboard.NO_ANSWER in set(table["agent answer"])

    shown, prefilled, message_id = dashboard.topic_details(escalated)
    assert prefilled == escalated.answer and message_id == human.customer_message_id and "<li>" in shown
    with pytest.raises(InvalidInput, match="names the order"):
        approve_for_knowledge(bot, agent_name="lin", message_id=message_id,
                                       answer="Order MM20261104 was refunded.")
    approve_for_knowledge(bot, agent_name="lin", message_id=message_id, answer=prefilled)
    with Session(bot.engine) as session:
        approved = session.exec(select(ApprovedAnswer)).one()
    assert (approved.message_id, approved.answer) == (human.customer_message_id, prefilled)


def _run_handlers(blocks, choice):
    """Call the refresh and topic handlers as a page load would, and render their outputs."""
    fns = {fn.name: fn for fn in blocks.fns.values()}
    assert all(fn.api_visibility == "private" for fn in blocks.fns.values())
    rendered = {}
    for name in ("refresh", "load_topics"):
        values = fns[name].fn(choice)
        assert len(values) == len(fns[name].outputs)
        for component, value in zip(fns[name].outputs, values):
            if not isinstance(component, gr.State):
                rendered[component] = component.postprocess(value)
    return rendered


def test_the_pages_handlers_render_empty_and_busy_ranges(fake_assistant):
    blocks = dashboard.build_dashboard(fake_assistant)
    empty = _run_handlers(blocks, "all")
    notes = [v for c, v in empty.items() if isinstance(c, gr.Markdown)]
    assert notes and all(note == dashboard.NO_DATA for note in notes)
    fake_assistant.reply(None, "I want to talk to a human")
    busy = _run_handlers(blocks, "30")
    plots = [v for c, v in busy.items() if isinstance(c, (gr.LinePlot, gr.BarPlot))]
    assert len(plots) == 9 and sum(bool(p.data) for p in plots) >= 5
    table = next(v for c, v in busy.items() if isinstance(c, gr.Dataframe))
    assert table.data == [[1, "I want to talk to a human", table.data[0][2], ESCALATED, dashboard.NO_ANSWER]]


def test_an_uploaded_review_file_becomes_a_batch_with_its_report_and_alerts_list(fake_assistant, tmp_path):
    from assistant.registry import Registry
    from finetune.args import ReviewTrainingArgs
    from finetune.reviews import train_review_model
    from ui import dashboard_feedback as feedback

    registry = Registry(fake_assistant.settings.models_dir)
    staged = registry.staging("reviews")
    texts = ["质量很好", "物流很快", "great quality", "fast delivery"] * 10 + ["质量太差", "物流太慢", "broken", "late"] * 10
    train_review_model(texts, ["positive"] * 40 + ["negative"] * 40, staged, args=ReviewTrainingArgs.tiny(),
                       log=lambda _: None)
    registry.register("reviews", staged, {}, activate=True)
    upload = tmp_path / "upload-folder" / "shop reviews.csv"
    upload.parent.mkdir()
    upload.write_text("product,date,review\n耳机,2026-11-20,物流很快，但是质量太差\n耳机,2026-11-21,质量很好\n",
                      encoding="utf-8")
    assert feedback.batch_view(fake_assistant, None)[0].startswith("_No review batch yet")
    batch_id = feedback.upload_reviews(fake_assistant, str(upload))
    assert not upload.exists()  # the unmasked upload is gone once analysed
    [(label, value)] = feedback.batch_choices(fake_assistant)
    assert value == batch_id and "shop reviews.csv · 2 reviews · done" in label
    text, images = feedback.batch_view(fake_assistant, batch_id)
    assert "2 reviews analysed" in text and "read with `reviews/v0001`" in text and "![" not in text
    assert "_(chart below · 图表见下方)_" in text
    assert images[0].endswith("sentiment_by_product.png") and all(Path(i).is_file() for i in images)
    assert list(feedback.alerts_frame(fake_assistant).columns) == feedback.ALERT_COLUMNS
    # A report folder removed is written again from the stored reviews.
    import shutil

    shutil.rmtree(Path(images[0]).parent)
    again, images = feedback.batch_view(fake_assistant, batch_id)
    assert "2 reviews analysed" in again and all(Path(i).is_file() for i in images)
