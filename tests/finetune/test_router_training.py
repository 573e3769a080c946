import json

import pytest

from assistant.router import Router
from finetune.args import RouterTrainingArgs
from finetune.router import train_router
from retrieval.knowledge import load_knowledge
from tests.conftest import KNOWLEDGE


def test_args_validate_themselves():
    with pytest.raises(ValueError, match="holdout_fraction"):
        RouterTrainingArgs(holdout_fraction=1.5)
    with pytest.raises(ValueError, match="power of two"):
        RouterTrainingArgs(n_features=1000)
    with pytest.raises(ValueError, match="intent_c"):
        RouterTrainingArgs(intent_c=0)


def test_router_learns_the_labelled_messages(tmp_path, hash_embedder):
    knowledge = load_knowledge(KNOWLEDGE)
    metrics = train_router(list(knowledge.messages), hash_embedder, tmp_path, args=RouterTrainingArgs.tiny(),
                           data_hash="abc", log=lambda _: None)
    holdout = metrics["holdout"]
    # 27 intents: chance is under 4%; the fake embedder plus n-grams must still learn most of them.
    assert holdout["intent"]["accuracy"] >= 0.6
    assert holdout["sentiment"]["accuracy"] >= 0.6
    assert set(holdout["per_language"]) == {"en", "zh"}
    saved = json.loads((tmp_path / "router.json").read_text())
    assert saved["data_hash"] == "abc" and saved["embedder"] == "hash-embedder"
    assert len(saved["intent_labels"]) == 27 and saved["metrics"]["holdout"] == holdout

    router = Router(tmp_path, hash_embedder, order_id_pattern=knowledge.shop.order_id_pattern)
    route = router.route("thank you so much, that helped a lot!")
    assert route.intent == "thanks" and route.sentiment == "positive"
    assert route.intent_ranking[0] == (route.intent, route.intent_confidence)
    zh = router.route("订单MM20261104到哪了")
    assert zh.lang == "zh" and zh.entities[0].value == "MM20261104"


def test_router_refuses_another_embedders_heads(tmp_path, hash_embedder):
    from assistant.errors import ModelMissing

    knowledge = load_knowledge(KNOWLEDGE)
    train_router(list(knowledge.messages)[:200], hash_embedder, tmp_path, args=RouterTrainingArgs.tiny(),
                 log=lambda _: None)

    class Other(type(hash_embedder)):
        name = "another-model"

    with pytest.raises(ModelMissing, match="assistant train router"):
        Router(tmp_path, Other(), order_id_pattern="MM").route("hi")


def test_a_small_shop_trains_without_a_holdout(tmp_path, hash_embedder):
    from collections import defaultdict

    knowledge = load_knowledge(KNOWLEDGE)
    per_intent = defaultdict(list)
    for message in knowledge.messages:
        per_intent[message.intent].append(message)
    few = [m for messages in per_intent.values() for m in messages[:3]]
    logged = []
    metrics = train_router(few, hash_embedder, tmp_path, args=RouterTrainingArgs.tiny(), log=logged.append)
    assert "holdout" not in metrics and any("Too few messages" in line for line in logged)
    assert (tmp_path / "weights.npz").is_file()


def test_one_sentiment_is_a_clear_error(tmp_path, hash_embedder):
    from retrieval.errors import KnowledgeError

    messages = [m for m in load_knowledge(KNOWLEDGE).messages if m.sentiment == "neutral"]
    with pytest.raises(KnowledgeError, match="two sentiments"):
        train_router(messages, hash_embedder, tmp_path, args=RouterTrainingArgs.tiny(), log=lambda _: None)
