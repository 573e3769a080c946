import numpy as np

from assistant.classifier import combine, mahalanobis
from finetune.calibration import choose_lexical_weight, choose_oos_rule, choose_threshold, fit_mahalanobis, fit_temperature


def test_temperature_undoes_overconfidence():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, 4000)
    calibrated = rng.normal(size=(4000, 5))
    calibrated[np.arange(4000), truth] += 1.5
    # Sample labels from the calibrated distribution, then make the logits three times too sharp.
    probs = combine(calibrated, None, 0.0, 1.0)
    labels = np.array([rng.choice(5, p=p) for p in probs])
    assert abs(fit_temperature(3.0 * calibrated, labels) - 3.0) < 0.3


def test_threshold_loses_at_most_the_allowed_in_scope_accuracy():
    rng = np.random.default_rng(1)
    inscope = rng.uniform(0.0, 1.0, 1000)            # scores of in-scope rows
    outside = rng.uniform(0.8, 2.0, 200)             # out-of-scope rows mostly score higher
    scores = np.concatenate([inscope, outside])
    is_oos = np.arange(1200) >= 1000
    correct = ~is_oos
    threshold, recall = choose_threshold(scores, correct, is_oos, max_loss=0.01)
    lost = (scores[:1000] > threshold).mean()
    assert lost <= 0.01 and lost >= 0.008           # uses the allowance, and no more
    assert recall > 0.75 and np.isclose(recall, (outside > threshold).mean())


def test_oos_rule_prefers_the_method_that_separates_on_dev():
    rng = np.random.default_rng(2)
    means = np.eye(4, 16) * 4.0
    truth = rng.integers(0, 4, 400)
    pooled = means[truth] + rng.normal(size=(400, 16)) * 0.3
    far = rng.normal(size=(100, 16)) * 0.3 + 8.0     # out of scope: far from every class, yet confidently classified
    stats = fit_mahalanobis(pooled[:300], truth[:300])
    dev_pooled = np.vstack([pooled[300:], far])
    probs = np.full((200, 4), 0.01)
    probs[np.arange(100), truth[300:]] = 0.97
    probs[100:, 0] = 0.97
    dev_truth = np.concatenate([truth[300:], -np.ones(100, int)])
    is_oos = np.arange(200) >= 100
    rule = choose_oos_rule(probs, dev_pooled, stats, dev_truth, is_oos, np.zeros(4, bool), 0.01)
    assert rule["method"] == "mahalanobis" and rule["dev_oos_recall"] == 1.0
    assert mahalanobis(far[:5], stats["oos_means"], stats["oos_precision"]).min() > \
        mahalanobis(pooled[300:305], stats["oos_means"], stats["oos_precision"]).max()


def test_lexical_weight_is_used_only_when_it_helps():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 300)
    model = rng.normal(size=(300, 3))
    model[np.arange(300), truth] += 0.5               # a weak model
    lexical = rng.normal(size=(300, 3))
    lexical[np.arange(300), truth] += 3.0             # a strong lexical signal
    assert choose_lexical_weight(model, lexical, truth) >= 1.0
    assert choose_lexical_weight(model * 10, np.zeros((300, 3)), truth) == 0.0
