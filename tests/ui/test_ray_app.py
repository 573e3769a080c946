"""The Ray Serve application's parts on a small local Ray cluster: the encoder deployment batches concurrent
messages and gives the local encoder's vectors; the drafter deployment writes drafts, and a dead one becomes
a template fallback. (Ray's local testing mode cannot run @serve.batch, so this starts a real cluster.)"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

ray = pytest.importorskip("ray")
serve = pytest.importorskip("ray.serve")

from assistant.drafter_service import DrafterUnavailable  # noqa: E402
from assistant.models import embedder_from_settings  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from ui.ray_app import DrafterDeployment, EncoderDeployment, RemoteEmbedder, RemoteGenerator  # noqa: E402

TEXTS = ["where is my order MM20261104?", "运费多少钱？", "how do I return a jacket?", "能开发票吗", "谢谢",
         "my payment failed twice", "耳机坏了怎么保修", "do you have the down jacket in XL?"]


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        yield
    finally:
        serve.shutdown()
        ray.shutdown()


def test_the_encoder_deployment_batches_messages_and_matches_the_local_encoder(cluster, tiny_encoder):
    settings = Settings(embedder_path=str(tiny_encoder))
    handle = serve.run(EncoderDeployment.options(ray_actor_options={"num_cpus": 0.5}).bind(settings, 16, 0.2),
                       name="encoder-test", route_prefix=None)
    local = embedder_from_settings(settings)
    remote = RemoteEmbedder(local, handle)
    with ThreadPoolExecutor(len(TEXTS)) as pool:  # concurrent customers' messages
        vectors = np.vstack(list(pool.map(lambda text: remote.encode([text]), TEXTS)))
    np.testing.assert_allclose(vectors, local.encode(TEXTS), atol=1e-5)
    stats = handle.stats.remote().result()
    assert stats["messages"] == len(TEXTS) and stats["batches"] < len(TEXTS)  # some arrived together
    np.testing.assert_allclose(remote.encode(TEXTS, kind="passage"), local.encode(TEXTS, kind="passage"), atol=1e-5)
    assert (remote.name, remote.dim) == (local.name, 32)


def test_the_drafter_deployment_drafts_and_a_dead_one_is_unavailable(cluster, tiny_seq2seq):
    settings = Settings(drafter="model", drafter_model=str(tiny_seq2seq), drafter_max_new_tokens=8)
    handle = serve.run(DrafterDeployment.options(ray_actor_options={"num_cpus": 0.5}).bind(settings, 8, 0.01),
                       name="drafter-test", route_prefix=None)
    from assistant.seq2seq import Decoding, Seq2SeqGenerator

    # Longer than the tiny model's 128 positions: the input is cut to what the encoder can take.
    inputs = [f"question: where is my order {n}? " + "answer: on its way " * 60 for n in range(3)]
    drafts = RemoteGenerator(handle, timeout=60).generate(inputs)
    local = Seq2SeqGenerator(tiny_seq2seq, Decoding(max_new_tokens=8)).generate(inputs)
    assert len(drafts) == 3 and drafts == local  # the replica runs the same greedy decoding

    class Dead:
        class generate_one:
            @staticmethod
            def remote(_text):
                raise RuntimeError("ActorDiedError: the replica's process died")

    with pytest.raises(DrafterUnavailable, match="did not answer"):
        RemoteGenerator(Dead(), timeout=1).generate(["question: hi"])
