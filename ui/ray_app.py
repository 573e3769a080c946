"""The assistant as a Ray Serve application (`assistant serve --ray`), for shops that outgrow one machine.

Deployments, each with its own replicas spread over the cluster:

- `Encoder`: the sentence encoder the router and the retriever read messages with (the heavy part of both:
  ~25 ms a message on a CPU core, against well under a millisecond for the router's heads and the FAQ
  index), with dynamic batching: messages arriving within `batch_wait` of each other are embedded in one call.
- `Drafter` (only with ASSISTANT_DRAFTER=model): the seq2seq model writing drafts, batched the same way; it
  asks Ray for a GPU when the cluster has one.
- `Api`, the ingress: the REST API (FastAPI) on the cluster's HTTP proxy. Its Assistant routes (heads),
  retrieves (FAISS), decides and stores exactly as a single process does, with its embedder and generator
  calling the deployments above. A promoted router, classifier or index reaches every ingress replica
  within ASSISTANT_RELOAD_SECONDS, as in a single process (the registry must be on storage every node sees).

The Gradio screens keep their sessions in one process, so `assistant serve --ray` serves them from one
ordinary process beside the cluster (see ui/cli/serve.py).
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from ray import serve

from assistant.settings import Settings
from retrieval.embedder import Embedder

log = logging.getLogger(__name__)

APP_NAME = "assistant"


@serve.deployment(name="Encoder", ray_actor_options={"num_cpus": 1})
class EncoderDeployment:
    """The settings' sentence encoder, embedding the messages of concurrent requests in batches."""

    def __init__(self, settings: Settings, max_batch: int, batch_wait: float):
        from assistant.models import embedder_from_settings

        self.embedder = embedder_from_settings(settings)
        self.embedder.encode(["warm up"], kind="query")
        self.embed_one.set_max_batch_size(max_batch)
        self.embed_one.set_batch_wait_timeout_s(batch_wait)
        self.batches, self.messages = 0, 0

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.005)
    async def embed_one(self, items: list[tuple[str, str]]) -> list[np.ndarray]:
        """One (kind, text) per request; the batch is embedded in one call per kind."""
        self.batches, self.messages = self.batches + 1, self.messages + len(items)
        out: list[np.ndarray | None] = [None] * len(items)
        for kind in {k for k, _ in items}:
            rows = [i for i, (k, _) in enumerate(items) if k == kind]
            vectors = await asyncio.to_thread(self.embedder.encode, [items[i][1] for i in rows], kind=kind)
            for row, vector in zip(rows, vectors):
                out[row] = vector
        return out

    def embed_many(self, texts: list[str], kind: str) -> np.ndarray:
        """Many texts of one caller at once (an index rebuilt in a replica)."""
        return self.embedder.encode(texts, kind=kind)

    def dim(self) -> int:
        return self.embedder.dim

    def stats(self) -> dict:
        """Batches embedded and messages in them since the replica started (their ratio: the mean batch)."""
        return {"batches": self.batches, "messages": self.messages}


@serve.deployment(name="Drafter", ray_actor_options={"num_cpus": 1})
class DrafterDeployment:
    """The seq2seq drafter (the registry's active one, or ASSISTANT_DRAFTER_MODEL), generating in batches."""

    def __init__(self, settings: Settings, max_batch: int, batch_wait: float):
        from assistant.registry import Registry
        from assistant.seq2seq import Decoding, Seq2SeqGenerator

        registry = Registry(settings.models_dir)
        folder = settings.drafter_model or registry.folder("drafter", registry.active_version("drafter"))
        device = "cuda" if _has_gpu() else settings.device
        self.generator = Seq2SeqGenerator(folder, Decoding(num_beams=settings.drafter_beams,
                                                           max_new_tokens=settings.drafter_max_new_tokens,
                                                           time_limit=settings.drafter_time_limit), device=device)
        self.generator.warm_up()
        self.generate_one.set_max_batch_size(max_batch)
        self.generate_one.set_batch_wait_timeout_s(batch_wait)

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.01)
    async def generate_one(self, inputs: list[str]) -> list[str | None]:
        return await asyncio.to_thread(self.generator.generate, inputs)


class RemoteEmbedder(Embedder):
    """The Embedder the ingress's router and retriever use: vectors from the Encoder deployment; the name and
    the tokenizer (for the share of unreadable tokens) from the local folder, which is never run here."""

    def __init__(self, local: Embedder, handle):
        super().__init__(local.path, local.device)
        self.local, self.handle = local, handle

    @property
    def name(self) -> str:
        return self.local.name

    @property
    def dim(self) -> int:
        return int(self.handle.dim.remote().result())

    def unknown_fraction(self, text: str) -> float:
        return self.local.unknown_fraction(text)

    def _encode(self, texts: list[str], kind: str, batch_size: int, progress: bool) -> np.ndarray:
        if len(texts) == 1:
            return np.asarray(self.handle.embed_one.remote((kind, texts[0])).result())[None, :]
        return np.asarray(self.handle.embed_many.remote(texts, kind).result())


class RemoteGenerator:
    """The ModelDrafter's generator, calling the Drafter deployment (its guard still runs in the ingress)."""

    def __init__(self, handle, timeout: float):
        self.handle, self.timeout = handle, timeout

    def warm_up(self) -> None:
        pass

    def generate(self, inputs: list[str]) -> list[str | None]:
        from assistant.drafter_service import DrafterUnavailable

        try:
            responses = [self.handle.generate_one.remote(text) for text in inputs]
            return [r.result(timeout_s=self.timeout) for r in responses]
        except Exception as exc:  # noqa: BLE001 (a dead or slow replica: the template answers instead)
            raise DrafterUnavailable(f"the drafter deployment did not answer: {exc.__class__.__name__}: {exc}") from exc


@serve.deployment(name="Api", ray_actor_options={"num_cpus": 0.5})
@serve.ingress()
class ApiDeployment:
    """The ingress: the REST API (FastAPI) on an Assistant whose encoder and drafter are the deployments whose
    handles Ray passes in. Ray builds the app in each replica (`__serve_build_asgi_app__`)."""

    def __init__(self, settings: Settings, encoder, drafter=None):
        # The driver's settings, as the other deployments get them (.env files and defaults are not re-read here).
        self.settings, self.encoder, self.drafter = settings, encoder, drafter

    def __serve_build_asgi_app__(self):
        from assistant.logs import configure
        from assistant.models import embedder_from_settings
        from assistant.pipeline import Assistant
        from ui.app import create_app

        settings = self.settings
        configure(json_lines=settings.log_json)
        generator = None
        if settings.drafter == "model" and self.drafter is not None:
            generator = RemoteGenerator(self.drafter, timeout=settings.drafter_timeout)
        assistant = Assistant(settings, embedder=RemoteEmbedder(embedder_from_settings(settings), self.encoder),
                              generator=generator)
        return create_app(settings, assistant, screens=False)


def _has_gpu() -> bool:
    import ray

    return ray.is_initialized() and ray.cluster_resources().get("GPU", 0) > 0


def application(settings: Settings, *, replicas: int = 1, ingress_replicas: int = 1, drafter_replicas: int = 1,
                max_batch: int = 16, batch_wait: float = 0.005, cpus_per_replica: float = 1.0):
    """The bound application: encoder (and drafter) deployments with their replicas, and the API ingress."""
    # Ray Serve lets a replica hold 5 requests at a time by default: the ingress's requests mostly wait (on the
    # database, on the encoder), and a batch can only be as large as the requests a replica holds.
    encoder = EncoderDeployment.options(num_replicas=replicas, max_ongoing_requests=4 * max_batch,
                                        ray_actor_options={"num_cpus": cpus_per_replica}).bind(
        settings, max_batch, batch_wait)
    parts = {"encoder": encoder}
    if settings.drafter == "model":
        gpu = 1 if _has_gpu() else 0
        parts["drafter"] = DrafterDeployment.options(
            num_replicas=drafter_replicas, max_ongoing_requests=4 * max_batch,
            ray_actor_options={"num_cpus": 0 if gpu else cpus_per_replica, "num_gpus": gpu}).bind(
            settings, max_batch, batch_wait)
    # The ingress gets the deployments' handles as arguments, which also makes Ray start them first.
    return ApiDeployment.options(num_replicas=ingress_replicas, max_ongoing_requests=64).bind(settings,
                                                                                                *parts.values())
