from datetime import date, datetime, timezone

import pytest
from sqlmodel import Session

from assistant import analytics, store
from assistant.analytics import ESCALATED, THUMBS_DOWN, WEAK_RETRIEVAL, EntityCount, PoorAnswer
from assistant.errors import InvalidInput
from assistant.tables import Conversation, Feedback, Message

START = datetime(2026, 11, 1, tzinfo=timezone.utc)
END = datetime(2026, 11, 4, tzinfo=timezone.utc)  # three days: Nov 1, 2 and 3
D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=timezone.utc)


class Shop:
    """Writes conversations with chosen times and labels, as the pipeline and the desk would store them."""

    def __init__(self, session: Session):
        self.session = session

    def conversation(self, when: datetime) -> Conversation:
        conversation = Conversation(created_at=when, updated_at=when)
        self.session.add(conversation)
        self.session.flush()
        return conversation

    def message(self, conversation: Conversation, role: str, when: datetime, text: str = "…", **labels) -> Message:
        message = Message(conversation_id=conversation.id, role=role, text=text, created_at=when, **labels)
        self.session.add(message)
        self.session.flush()
        return message

    def customer(self, conversation, when, text="…", *, intent="order_status", sentiment="neutral", score=0.9,
                 **labels) -> Message:
        return self.message(conversation, "customer", when, text, intent=intent, sentiment=sentiment,
                            retrieved=[{"id": "en-0001", "score": score}, {"id": "en-0002", "score": score / 2}],
                            **labels)

    def bot(self, conversation, when, action="answer") -> Message:
        return self.message(conversation, "bot", when, f"({action})", action=action)

    def rate(self, reply: Message, when: datetime, rating: int) -> None:
        self.session.add(Feedback(message_id=reply.id, conversation_id=reply.conversation_id, rating=rating,
                                  created_at=when))
        self.session.flush()


@pytest.fixture
def shop(engine):
    """Five conversations in the range, one just before it and one at its (excluded) end."""
    with store.transaction(engine) as session:
        s = Shop(session)
        a = s.conversation(at(1, 10))
        s.customer(a, at(1, 10), "where is my parcel", entities=[{"kind": "order_id", "value": "MM1"}])
        s.rate(s.bot(a, at(1, 10, 0, 1)), at(1, 10, 5), 1)

        b = s.conversation(at(1, 11))
        s.customer(b, at(1, 11), "my headphones broke, this is terrible", intent="warranty",
                   corrected_intent="returns", sentiment="negative", score=0.4,
                   entities=[{"kind": "product", "value": "X1 headphones"}])
        s.bot(b, at(1, 11, 0, 1), "escalate")
        s.message(b, "agent", at(1, 11, 2, 1), "Sorry! Send them back and we replace them.")
        s.customer(b, at(1, 11, 3), "thanks", intent="thanks", sentiment="positive")
        s.bot(b, at(1, 11, 3, 1))

        c = s.conversation(at(2, 9))
        s.customer(c, at(2, 9), "my refund is still not here", intent="refund", sentiment="negative",
                   entities=[{"kind": "product", "value": "X1 headphones"}, {"kind": "order_id", "value": "MM2"},
                             {"kind": "product", "value": "X1 headphones"}])
        answer = s.bot(c, at(2, 9, 0, 1))
        s.rate(answer, at(2, 9, 5), 1)
        s.rate(answer, at(2, 9, 10), -1)  # the latest rating counts
        s.customer(c, at(2, 9, 20), "I want a human", intent="refund")
        s.bot(c, at(2, 9, 20, 1), "escalate")
        s.message(c, "agent", at(2, 10, 20, 1), "Your refund left us yesterday.")

        d = s.conversation(at(2, 12))
        s.bot(d, at(2, 12), "escalate")  # the "talk to a person" button: no customer message, no agent yet

        e = s.conversation(at(3, 8))
        s.customer(e, at(3, 8), "hello??", intent=None, sentiment="positive", corrected_sentiment="negative",
                   entities=[{"kind": "product", "value": "Y2 kettle"}, {"kind": "order_id", "value": "MM2"}])
        s.bot(e, at(3, 8, 0, 1))

        before = s.conversation(at(31, 23, 59, 59, month=10))
        s.customer(before, at(31, 23, 59, 59, month=10), "broken again", intent="warranty", sentiment="negative",
                   score=0.1, entities=[{"kind": "product", "value": "X1 headphones"}])
        s.rate(s.bot(before, at(31, 23, 59, 59, month=10), "escalate"), at(31, 23, 59, 59, month=10), -1)

        after = s.conversation(END)
        s.customer(after, END, "too late", intent="refund", sentiment="negative", score=0.1)
        s.bot(after, END, "escalate")
    return engine


def query(engine, function, **kwargs):
    with Session(engine) as session:
        return function(session, start=START, end=END, **kwargs)


def test_conversations_and_customer_messages_per_day_include_empty_days(shop):
    days = query(shop, analytics.messages_per_day)
    assert [(d.day, d.conversations, d.customer_messages) for d in days] == [(D1, 2, 3), (D2, 2, 2), (D3, 1, 1)]
    later = datetime(2026, 11, 6, tzinfo=timezone.utc)
    with Session(shop) as session:
        quiet = analytics.messages_per_day(session, start=END, end=later)  # the end is excluded, the start not
    assert [(d.day, d.conversations, d.customer_messages) for d in quiet] == [(date(2026, 11, 4), 1, 1),
                                                                               (date(2026, 11, 5), 0, 0)]


def test_intent_distribution_lets_an_agents_correction_win(shop):
    intents = query(shop, analytics.intent_distribution)
    assert [(i.intent, i.count) for i in intents] == [("refund", 2), ("order_status", 1), ("returns", 1),
                                                      ("thanks", 1), ("unknown", 1)]
    assert intents[0].share == pytest.approx(2 / 6)
    assert "warranty" not in {i.intent for i in intents}  # corrected in range, and out of range before


def test_sentiment_per_day_and_per_intent(shop):
    days = query(shop, analytics.sentiment_per_day)
    assert [(d.day, d.positive, d.neutral, d.negative) for d in days] == [(D1, 1, 1, 1), (D2, 0, 1, 1), (D3, 0, 0, 1)]
    by_intent = query(shop, analytics.sentiment_by_intent)
    assert [(i.intent, i.positive, i.neutral, i.negative) for i in by_intent] == [
        ("returns", 0, 0, 1), ("unknown", 0, 0, 1), ("refund", 0, 1, 1), ("order_status", 0, 1, 0),
        ("thanks", 1, 0, 0)]
    assert [i.negative_share for i in by_intent] == [1.0, 1.0, 0.5, 0.0, 0.0]


def test_escalation_rate_counts_conversations_active_that_day(shop):
    days = query(shop, analytics.escalations_per_day)
    assert [(d.day, d.active, d.escalated, d.rate) for d in days] == [(D1, 2, 1, 0.5), (D2, 2, 2, 1.0),
                                                                      (D3, 1, 0, 0.0)]


def test_agent_response_times_per_day(engine):
    with store.transaction(engine) as session:
        s = Shop(session)
        for escalated, answered in ((at(1, 8), at(1, 8, 1)), (at(1, 9), at(1, 9, 2))):
            c = s.conversation(escalated)
            s.bot(c, escalated, "escalate")
            s.message(c, "agent", answered)
        s.bot(c, at(1, 13), "escalate")  # handed back, escalated again: escalations before an agent writes are one wait
        s.bot(c, at(1, 13, 5), "escalate")
        s.message(c, "agent", at(1, 13, 15))
        c = s.conversation(at(1, 7))
        s.message(c, "agent", at(1, 7))  # before the escalation: answers nothing
        s.bot(c, at(1, 10), "escalate")
        s.message(c, "agent", at(1, 10, 10))
        c = s.conversation(at(1, 23, 59))
        s.bot(c, at(1, 23, 59), "escalate")
        s.message(c, "agent", at(2, 0, 9))  # answered the next day: counts for the day it escalated
        c = s.conversation(at(31, 23, month=10))
        s.bot(c, at(31, 23, month=10), "escalate")  # before the range
        s.message(c, "agent", at(1, 0, 30))
        c = s.conversation(at(2, 5))
        s.bot(c, at(2, 5), "escalate")  # never answered
        c = s.conversation(at(4, 1))
        s.bot(c, at(4, 1), "escalate")  # after the range
    days = query(engine, analytics.response_times_per_day)
    assert [(d.day, d.escalations, d.answered, d.unanswered) for d in days] == [(D1, 5, 5, 0), (D2, 1, 0, 1),
                                                                                (D3, 0, 0, 0)]
    # waits on Nov 1: 60, 120, 900, 600 and 600 seconds
    assert days[0].median_seconds == 600.0 and days[0].p90_seconds == pytest.approx(780.0)
    assert days[1].median_seconds is None and days[1].p90_seconds is None
    rates = query(engine, analytics.escalations_per_day)
    assert (rates[0].active, rates[0].escalated) == (5, 4)


def test_ratings_per_day_count_the_latest_rating_of_each_reply(shop):
    ratings = query(shop, analytics.ratings_per_day)
    assert [(d.day, d.up, d.down) for d in ratings.days] == [(D1, 1, 0), (D2, 0, 1), (D3, 0, 0)]
    assert (ratings.up, ratings.down, ratings.down_share) == (1, 1, 0.5)


def test_poorly_answered_messages_with_their_reasons_and_the_agents_answer(shop):
    poor = query(shop, analytics.poorly_answered, min_score=0.5)
    assert [(p.text, p.reasons, p.intent) for p in poor] == [
        ("I want a human", (ESCALATED,), "refund"),
        ("my refund is still not here", (THUMBS_DOWN,), "refund"),
        ("my headphones broke, this is terrible", (WEAK_RETRIEVAL, ESCALATED), "returns")]
    assert [p.agent_answer for p in poor] == [
        "Your refund left us yesterday.",
        None,  # the customer wrote again before the agent answered: that answer is for the later message
        "Sorry! Send them back and we replace them."]
    assert poor[2].top_score == 0.4
    assert [p.text for p in query(shop, analytics.poorly_answered, min_score=0.5, limit=2)] == [
        "I want a human", "my refund is still not here"]
    stricter = query(shop, analytics.poorly_answered, min_score=0.95)
    assert len(stricter) == 6 and all(WEAK_RETRIEVAL in p.reasons for p in stricter)


def test_topics_group_paraphrases_and_carry_the_best_agent_answer(hash_embedder):
    texts = ["where is my refund for the blue jacket", "where is my refund for the blue jacket please",
             "my refund for the blue jacket where is it", "can I change the delivery address of my parcel",
             "can I change the delivery address of my parcel now", "我的退款什么时候到账"]
    answers = {2: "It left us on Monday.", 5: "Yes, until it ships."}
    messages = [PoorAnswer(i + 1, "c", START, text, "refund" if i < 3 or i == 5 else "shipping",
                           (WEAK_RETRIEVAL,) if i % 2 else (ESCALATED,), 0.3, answers.get(i + 1))
                for i, text in enumerate(texts)]
    topics = analytics.group_topics(messages, hash_embedder, threshold=0.75)
    assert [(t.size, set(t.message_ids), t.intent) for t in topics] == [
        (3, {1, 2, 3}, "refund"), (2, {4, 5}, "shipping"), (1, {6}, "refund")]
    refund, delivery, alone = topics
    assert refund.question == texts[0]  # the most central paraphrase
    assert (refund.answer, refund.answer_message_id) == ("It left us on Monday.", 2)
    assert (delivery.answer, delivery.answer_message_id) == ("Yes, until it ships.", 5)
    assert (alone.answer, alone.answer_message_id, alone.question_id) == (None, None, 6)
    assert refund.reasons == (ESCALATED, WEAK_RETRIEVAL) and set(refund.examples) == set(texts[:3])
    assert len(analytics.group_topics(messages, hash_embedder, threshold=0.2)) < 3  # looser: fewer topics
    assert analytics.group_topics([], hash_embedder) == []
    assert [t.size for t in analytics.group_topics(messages[:1], hash_embedder)] == [1]


def test_entities_of_negative_messages_count_once_per_message(shop):
    found = query(shop, analytics.negative_entities)
    assert found == [EntityCount("product", "X1 headphones", 2), EntityCount("product", "Y2 kettle", 1),
                     EntityCount("order_id", "MM2", 2)]
    assert query(shop, analytics.negative_entities, top=1) == [EntityCount("product", "X1 headphones", 2),
                                                               EntityCount("order_id", "MM2", 2)]


def test_a_range_must_be_aware_and_forward(engine):
    with Session(engine) as session:
        with pytest.raises(InvalidInput, match="timezone-aware"):
            analytics.messages_per_day(session, start=datetime(2026, 11, 1), end=END)
        with pytest.raises(InvalidInput, match="before it starts"):
            analytics.intent_distribution(session, start=END, end=START)
        assert analytics.first_activity(session) is None
        assert analytics.intent_distribution(session, start=START, end=END) == []


def test_first_activity_is_the_first_message(shop):
    with Session(shop) as session:
        assert analytics.first_activity(session) == at(31, 23, 59, 59, month=10)


def test_a_topic_offers_only_an_answer_to_a_question_of_its_own_intent(hash_embedder):
    texts = ["where is my parcel it is late", "where is my parcel it is so late", "where is my parcel it is late again"]
    intents = ["shipping", "shipping", "return"]
    messages = [PoorAnswer(i + 1, "c", START, text, intent, (ESCALATED,), 0.3,
                           "Send it back with the label." if intent == "return" else None)
                for i, (text, intent) in enumerate(zip(texts, intents))]
    [topic] = analytics.group_topics(messages, hash_embedder, threshold=0.5)
    assert topic.intent == "shipping" and (topic.answer, topic.answer_message_id) == (None, None)
