"""The classifier trained for real (all-MiniLM-L6-v2 from its pip package, the tiny preset) on the sample shop."""

import json
import threading

import numpy as np
import pytest
from safetensors.torch import load_file

from assistant.classifier import CONFIG_FILE, ENCODER_FILE, FORMAT, TextClassifier, read_classifier_config
from assistant.classifier_model import WORD_EMBEDDINGS
from assistant.errors import ModelMissing
from assistant.models import minilm_path
from assistant.router import Router
from finetune.args import ClassifierTrainingArgs
from finetune.classifier import train_classifier
from finetune.data import Example, from_messages, stratified_split
from finetune.evaluate import evaluate_classifier
from retrieval.knowledge import load_knowledge
from tests.conftest import KNOWLEDGE


@pytest.fixture(scope="session")
def shop_split():
    examples = from_messages(load_knowledge(KNOWLEDGE).messages)
    return stratified_split(examples, "intent", 0.15, seed=1)


@pytest.fixture(scope="session")
def shop_dev(shop_split):
    return stratified_split(shop_split[0], "intent", 0.1, seed=0)[1]


@pytest.fixture(scope="session")
def shop_classifier(tmp_path_factory, shop_split, shop_dev):
    """One fine-tuned classifier per test session, both heads, shared by the tests below."""
    folder = tmp_path_factory.mktemp("classifier")
    dev_texts = {e.text for e in shop_dev}
    train = [e for e in shop_split[0] if e.text not in dev_texts]
    metrics = train_classifier(train, minilm_path(), folder, dev=shop_dev, args=ClassifierTrainingArgs.tiny(),
                               log=lambda _: None, progress=False)
    return folder, metrics


pytestmark = pytest.mark.integration  # these train the real encoder (tiny preset): about a minute in all


def test_args_validate_themselves():
    with pytest.raises(ValueError, match="mode must be one of"):
        ClassifierTrainingArgs(mode="full")
    with pytest.raises(ValueError, match="max_length"):
        ClassifierTrainingArgs(max_length=4)
    with pytest.raises(ValueError, match="dev_fraction"):
        ClassifierTrainingArgs(dev_fraction=0.7)
    assert ClassifierTrainingArgs.tiny().epochs == 1


def test_fine_tuned_classifier_learns_both_heads_and_says_what_it_is(shop_classifier, shop_split):
    folder, metrics = shop_classifier
    _, test = shop_split
    config = read_classifier_config(folder)
    assert set(config["heads"]) == {"intent", "sentiment"} and len(config["heads"]["intent"]["labels"]) == 27
    assert config["args"]["epochs"] == 1 and config["data_hash"] and config["metrics"] == metrics
    # The shop has an out_of_scope intent, so a rule was chosen on dev.
    assert config["oos"]["method"] in ("msp", "mahalanobis")
    # Held-out messages the model never saw (27 intents, chance under 4%; MiniLM reads little Chinese).
    intent = evaluate_classifier(folder, test, "intent")
    sentiment = evaluate_classifier(folder, test, "sentiment")
    assert intent["accuracy"] >= 0.7 and sentiment["accuracy"] >= 0.75
    assert intent["n_test"] == len(test)
    # The saved encoder leaves out the frozen word embeddings: the base encoder supplies them.
    assert WORD_EMBEDDINGS not in load_file(str(folder / ENCODER_FILE))


def test_int8_inference_agrees_with_float(shop_classifier, shop_split):
    folder, _ = shop_classifier
    test = shop_split[1]
    full = TextClassifier(folder).predict([e.text for e in test]).probs["intent"].argmax(1)
    quantised = TextClassifier(folder, int8=True).predict([e.text for e in test]).probs["intent"].argmax(1)
    assert np.mean(full == quantised) >= 0.85
    accuracy = [evaluate_classifier(folder, test, "intent", int8=q)["accuracy"] for q in (False, True)]
    assert abs(accuracy[0] - accuracy[1]) <= 0.05


def test_router_reads_messages_with_the_classifier(shop_classifier, hash_embedder):
    folder, _ = shop_classifier
    router = Router(folder, hash_embedder, order_id_pattern=r"MM\d{8}")
    route = router.route("Where is my order MM20261104? It has been two weeks!")
    assert route.intent == "order_status" and route.entities[0].value == "MM20261104"
    assert route.intent_ranking[0] == (route.intent, route.intent_confidence)
    assert 0.0 <= route.negative_score <= 1.0
    assert router.route("thank you so much, that helped a lot!").sentiment == "positive"


def test_router_refuses_a_classifier_without_a_sentiment_head(tmp_path, hash_embedder):
    rows = [Example(text, (("intent", label),)) for label, texts in {
        "refund": ["i want my money back", "refund please", "give me a refund", "can i get a refund", "refund my order"],
        "shipping": ["where is my parcel", "when does it ship", "delivery time?", "track my package", "shipping cost"],
    }.items() for text in texts]
    train_classifier(rows * 4, minilm_path(), tmp_path, args=ClassifierTrainingArgs.tiny(mode="head", lexical=False),
                     log=lambda _: None, progress=False)
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["oos"] == {"method": "none"}  # no out-of-scope data
    with pytest.raises(ModelMissing, match="no sentiment head"):
        Router(tmp_path, hash_embedder, order_id_pattern=r"MM\d{8}").route("refund please")


def test_lora_adapters_train_and_merge(tmp_path, shop_split):
    import torch
    from safetensors.torch import load_file as load

    train, _ = shop_split
    english = [e for e in train if e.text.isascii()][:300]
    train_classifier(english, minilm_path(), tmp_path, args=ClassifierTrainingArgs.tiny(mode="lora", lexical=False),
                     log=lambda _: None, progress=False)
    tuned = load(str(tmp_path / ENCODER_FILE))
    base = load(str(minilm_path() / "model.safetensors"))
    key = "encoder.layer.0.attention.self.query.weight"
    assert not any("lora" in k for k in tuned)                       # merged: a plain encoder again
    assert not torch.allclose(tuned[key], base[key])                  # ... whose weights the adapters changed
    labels = TextClassifier(tmp_path).labels("intent")
    assert TextClassifier(tmp_path).predict(["refund please"]).probs["intent"].shape == (1, len(labels))


def test_missing_base_encoder_is_a_clear_error(shop_classifier, tmp_path):
    import shutil

    folder, _ = shop_classifier
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    config = json.loads((copy / CONFIG_FILE).read_text())
    config["base_encoder"] = str(tmp_path / "gone")
    (copy / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelMissing, match="which is gone"):
        TextClassifier(copy).warm_up()
    (copy / ENCODER_FILE).unlink()
    with pytest.raises(ModelMissing, match="encoder.safetensors missing"):
        TextClassifier(copy).warm_up()


def test_a_seed_ensemble_averages_its_members(tmp_path, shop_split):
    train, test = shop_split
    english = [e for e in train if e.text.isascii()]
    metrics = train_classifier(english, minilm_path(), tmp_path,
                               args=ClassifierTrainingArgs.tiny(mode="head", ensemble=2, lexical=False),
                               log=lambda _: None, progress=False)
    config = read_classifier_config(tmp_path)
    assert config["members"] == ["member-0", "member-1"] and len(metrics["members"]) == 2
    members = [TextClassifier(tmp_path / name) for name in config["members"]]
    texts = [e.text for e in test if e.text.isascii()][:40]
    expected = np.mean([m.predict(texts).probs["intent"] for m in members], axis=0)
    assert np.allclose(TextClassifier(tmp_path).predict(texts).probs["intent"], expected, atol=1e-6)
    votes = np.mean([m.predict(texts).out_of_scope for m in members], axis=0) > 0.5
    assert config["oos"]["method"] == "vote"
    assert (TextClassifier(tmp_path).predict(texts).out_of_scope == votes).all()
    # Different seeds held out different dev rows, so the members differ.
    assert not np.allclose(members[0].predict(texts).probs["intent"], members[1].predict(texts).probs["intent"])


def test_the_assistant_routes_with_the_active_classifier(fake_home_template, assistant_home, shop_classifier):
    """Once a classifier version is active, replies are routed by it and say so in their model versions."""
    import shutil

    from assistant.pipeline import Assistant
    from assistant.registry import Registry
    from assistant.settings import Settings
    from tests.conftest import HashEmbedder

    shutil.copytree(fake_home_template, assistant_home)
    settings = Settings(home=assistant_home, knowledge_dir=KNOWLEDGE)
    registry = Registry(settings.models_dir)
    staging = registry.staging("classifier")
    shutil.copytree(shop_classifier[0], staging, dirs_exist_ok=True)
    version = registry.register("classifier", staging, {"metrics": shop_classifier[1]}, activate=True)
    bot = Assistant(settings, embedder=HashEmbedder())
    assert bot.model_versions["classifier"] == version
    reply = bot.reply(None, "Where is my order MM20261104? It has been two weeks!")
    assert reply.intent == "order_status"
    assert bot.runtime.router.config["format"] == FORMAT  # the router reads with the classifier


def test_a_saved_classifier_reproduces_its_dev_scores(shop_classifier, shop_dev):
    """What was calibrated is what is served: reloading the folder gives the dev scores it saved."""
    folder, metrics = shop_classifier
    for head in ("intent", "sentiment"):
        again = evaluate_classifier(folder, shop_dev, head)
        assert again["accuracy"] == metrics["dev"][head]["accuracy"]
        assert again["macro_f1"] == metrics["dev"][head]["macro_f1"]


def test_predict_takes_empty_lists_and_refuses_a_bare_string(shop_classifier):
    classifier = TextClassifier(shop_classifier[0])
    empty = classifier.predict([])
    assert empty.probs["intent"].shape == (0, 27) and empty.out_of_scope.shape == (0,)
    assert empty.predicted("intent") == []
    with pytest.raises(TypeError, match="list of texts"):
        classifier.predict("where is my order?")


def test_predict_from_many_threads_at_once(shop_classifier):
    """The web server calls one classifier from many request threads."""
    classifier = TextClassifier(shop_classifier[0])
    texts = ["where is my order?", "我要退货", "this is terrible, I want a refund now!", "hello"] * 3
    expected = classifier.predict(texts).predicted("intent")
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(classifier.predict(texts).predicted("intent"))
        except Exception as exc:  # noqa: BLE001 - the test reports any failure of a thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 40 and all(r == expected for r in results)
