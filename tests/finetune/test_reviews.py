import random

import pytest

from assistant.review_files import ReviewFile
from assistant.review_model import ReviewModel
from finetune.args import ReviewTrainingArgs
from finetune.reviews import labelled_reviews, train_review_model
from retrieval.errors import KnowledgeError

GOOD = ["质量很好", "物流很快", "非常满意", "好评", "great quality", "arrived fast", "love it", "works perfectly"]
BAD = ["质量太差", "物流很慢", "非常失望", "差评", "poor quality", "arrived broken", "waste of money", "stopped working"]
FILLER = ["这次买的", "东西", "the item", "overall", "总的来说", "my order"]


def _reviews(n: int, seed: int):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        good = i % 2 == 0
        words = rng.sample(GOOD if good else BAD, 2)
        rows.append((f"{rng.choice(FILLER)} {words[0]}，{words[1]} ({i})", "positive" if good else "negative",
                     rng.choice(["衣服", "手机"])))
    return rows


def test_the_review_model_learns_labelled_reviews_and_reports_per_product(tmp_path):
    rows = _reviews(300, seed=0)
    metrics = train_review_model([t for t, _, _ in rows], [y for _, y, _ in rows], tmp_path,
                                 products=[p for _, _, p in rows], args=ReviewTrainingArgs.tiny(), log=lambda _: None)
    holdout = metrics["holdout"]
    assert holdout["n"] == 60 and holdout["accuracy"] >= 0.95
    assert set(holdout["per_product"]) == {"衣服", "手机"} and sum(m["n"] for m in holdout["per_product"].values()) == 60
    fresh = _reviews(40, seed=1)
    read = ReviewModel(tmp_path).read([t for t, _, _ in fresh])
    accuracy = sum(r.sentiment == y for r, (_, y, _) in zip(read, fresh)) / len(fresh)
    assert accuracy >= 0.95
    assert all((r.negative_score > 0.5) == (r.sentiment == "negative") for r in read)


def test_labels_come_from_a_label_column_or_star_ratings(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("review,stars\n很好,5\n一般,3\n很差,1\n没评分,\n", encoding="utf-8")
    review_file = ReviewFile(path)
    texts, labels, _ = labelled_reviews(review_file)
    assert labels == ["positive", "neutral", "negative"] and review_file.problems == ["line 5: no label and no rating"]


def test_one_sentiment_is_not_enough_to_train(tmp_path):
    with pytest.raises(KnowledgeError, match="at least two sentiments"):
        train_review_model(["好", "很好", "不错"], ["positive"] * 3, tmp_path, args=ReviewTrainingArgs.tiny(),
                           log=lambda _: None)


def test_a_missing_or_damaged_model_says_what_to_run(tmp_path):
    from assistant.errors import ModelMissing

    with pytest.raises(ModelMissing, match="assistant train reviews"):
        ReviewModel(tmp_path).read(["x"])
    (tmp_path / "review_model.json").write_text("{", encoding="utf-8")
    (tmp_path / "weights.npz").write_bytes(b"junk")
    with pytest.raises(ModelMissing, match="damaged"):
        ReviewModel(tmp_path).read(["x"])


def test_with_the_encoder_the_model_needs_the_same_embedder_to_read(tmp_path, hash_embedder):
    from assistant.errors import ModelMissing

    rows = _reviews(200, seed=2)
    args = ReviewTrainingArgs(n_features=2**12, max_iter=300, encoder=True)
    metrics = train_review_model([t for t, _, _ in rows], [y for _, y, _ in rows], tmp_path, args=args,
                                 embedder=hash_embedder, log=lambda _: None)
    assert metrics["holdout"]["accuracy"] >= 0.95
    assert ReviewModel(tmp_path, embedder=hash_embedder).read(["质量太差，物流很慢"])[0].sentiment == "negative"
    with pytest.raises(ModelMissing, match="hash-embedder"):
        ReviewModel(tmp_path).read(["x"])


def test_repeated_reviews_are_trained_on_once_and_the_data_is_hashed(tmp_path):
    import json

    rows = _reviews(200, seed=3)
    texts = [t for t, _, _ in rows] + ["好评"] * 50
    labels = [y for _, y, _ in rows] + ["positive"] * 50
    metrics = train_review_model(texts, labels, tmp_path, args=ReviewTrainingArgs.tiny(), log=lambda _: None)
    assert metrics["duplicates_dropped"] >= 49 and metrics["train_size"] == len(set(texts))
    config = json.loads((tmp_path / "review_model.json").read_text(encoding="utf-8"))
    assert len(config["data_hash"]) == 64
