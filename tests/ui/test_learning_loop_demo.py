"""bench/learning_loop.py in a short form: a new intent learned, the server swapping without a failed
request, a poisoned batch rejected, and a rollback (fake embedder, tiny training, in-process server)."""

import pytest

from assistant.models import minilm_path
from assistant.settings import Settings
from bench.learning_loop import demonstrate
from finetune.args import ClassifierTrainingArgs, RouterTrainingArgs
from finetune.loop import GateConfig
from tests.conftest import KNOWLEDGE, HashEmbedder

pytestmark = pytest.mark.integration


def test_the_loop_learns_a_new_intent_rejects_poison_and_rolls_back(fake_home_template, assistant_home):
    import shutil

    shutil.copytree(fake_home_template, assistant_home)
    settings = Settings(home=assistant_home, knowledge_dir=KNOWLEDGE, reload_seconds=0.5)
    result = demonstrate(settings, n_new=30, n_poison=120, embedder=HashEmbedder(), router_args=RouterTrainingArgs.tiny(),
                         classifier_args=ClassifierTrainingArgs.tiny(mode="head"), encoder=minilm_path(),
                         gate=GateConfig(tolerance=2.0), in_process=True, log=lambda _: None)
    assert result["new_intent_accuracy_before"] == 0.0 and result["new_intent_accuracy_after"] >= 0.6, result
    assert result["answered_from_approved_after"] > result["answered_from_approved_before"] == 0.0
    assert result["approved_answers"]["marked"] == 2 and result["approved_answers"]["skipped"] == []
    assert result["rolled_back_to"].startswith("router")
    assert result["poisoned_promoted"] is False and result["poisoned_version"] is not None
    assert result["new_intent_accuracy_after_rollback"] < result["new_intent_accuracy_after"]
    assert result["failed_requests_during_swap"] == 0 and result["requests_during_swap"] > 5
    assert result["failed_requests_total"] == 0
