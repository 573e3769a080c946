"""The drafter as its own HTTP service (`assistant drafter serve`), for a GPU host, and its client.

Service: `POST /v1/generate {"inputs": [...]}` -> `{"outputs": [...], "model": NAME}`. Requests that
arrive together are decoded together: a batcher collects inputs for up to `max_wait_ms` or until
`max_batch` of them are waiting, runs one `generate`, and hands each caller its own output.

Client: `RemoteGenerator` calls it with a timeout behind a circuit breaker: after `failures`
consecutive failures it stops calling for `reset_seconds` (failing at once, so the assistant answers
from the template without waiting), then lets one call through to see whether the host is back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

import anyio
import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from assistant.errors import DrafterUnavailable

__all__ = ["Batcher", "CircuitBreaker", "DrafterUnavailable", "RemoteGenerator", "create_service"]


class GenerateIn(BaseModel):
    inputs: list[str] = Field(min_length=1, max_length=64, description="Drafter inputs (see assistant.drafter).")


class GenerateOut(BaseModel):
    outputs: list[str | None]   # None: cut off by the time or length limit
    model: str


@dataclass
class Batcher:
    """Collects concurrent requests into batches for one generator (which runs in a worker thread)."""

    generate: object                 # list[str] -> list[str]
    max_batch: int = 16
    max_wait_ms: float = 10.0
    batches: list[int] = field(default_factory=list)  # sizes of the batches run (for the benchmark)

    def __post_init__(self):
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._loop = None

    async def submit(self, inputs: list[str]) -> list[str]:
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.done() or self._loop is not loop:
            # The first request, a new event loop (a restarted server, a test client), or a worker that died.
            self._loop, self._queue = loop, asyncio.Queue()
            self._worker = loop.create_task(self._run())
        futures = []
        for text in inputs:
            future = asyncio.get_running_loop().create_future()
            await self._queue.put((text, future))
            futures.append(future)
        return list(await asyncio.gather(*futures))

    async def _run(self) -> None:
        while True:
            waiting = [await self._queue.get()]
            if waiting[0][1].cancelled():  # its caller went away
                continue
            deadline = time.monotonic() + self.max_wait_ms / 1000
            while len(waiting) < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    waiting.append(await asyncio.wait_for(self._queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
            waiting = [(text, future) for text, future in waiting if not future.cancelled()]
            if not waiting:
                continue
            self.batches.append(len(waiting))
            try:
                outputs = await anyio.to_thread.run_sync(self.generate, [text for text, _ in waiting])
                if len(outputs) != len(waiting):
                    raise RuntimeError(f"the generator returned {len(outputs)} drafts for {len(waiting)} inputs")
            except Exception as exc:  # noqa: BLE001 (every waiting caller gets the error, the worker goes on)
                for _, future in waiting:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), output in zip(waiting, outputs):
                if not future.done():
                    future.set_result(output)


def create_service(generator, *, max_batch: int = 16, max_wait_ms: float = 10.0) -> FastAPI:
    """The drafter service's app around a loaded generator (`Seq2SeqGenerator`)."""
    app = FastAPI(title="Shop assistant drafter", version="1")
    batcher = Batcher(generator.generate, max_batch=max_batch, max_wait_ms=max_wait_ms)
    app.state.batcher = batcher

    @app.get("/healthz")
    def healthz() -> dict:
        """Ready once the model is loaded."""
        return {"status": "ok", "model": generator.name, "device": generator.device}

    @app.post("/v1/generate", response_model=GenerateOut)
    async def generate(body: GenerateIn) -> GenerateOut:
        """Drafts for the inputs, decoded in a batch with whatever else arrived at the same time."""
        if any(not text.strip() for text in body.inputs):
            raise HTTPException(422, "every input must have text")
        return GenerateOut(outputs=await batcher.submit(body.inputs), model=generator.name)

    return app


class CircuitBreaker:
    """Closed: calls go through. Open after `failures` failures in a row: calls fail at once for
    `reset_seconds`. Then half-open: one call goes through; its success closes the breaker again."""

    def __init__(self, failures: int = 3, reset_seconds: float = 30.0, clock=time.monotonic):
        self.failures, self.reset_seconds, self.clock = failures, reset_seconds, clock
        self._failed, self._opened_at, self._trial = 0, None, False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self._opened_at >= self.reset_seconds else "open"

    def allow(self) -> bool:
        with self._lock:
            state = self.state
            if state == "closed":
                return True
            if state == "half-open" and not self._trial:
                self._trial = True  # one trial call at a time
                return True
            return False

    def record(self, ok: bool) -> None:
        with self._lock:
            self._trial = False
            if ok:
                self._failed, self._opened_at = 0, None
                return
            self._failed += 1
            if self._failed >= self.failures or self._opened_at is not None:
                self._opened_at = self.clock()


class RemoteGenerator:
    """A generator on another host, through `assistant drafter serve`; fails fast when that host is gone."""

    def __init__(self, url: str, *, timeout: float = 3.0, breaker: CircuitBreaker | None = None):
        self.url, self.timeout = url.rstrip("/"), timeout
        self.breaker = breaker or CircuitBreaker()
        self.name = self.url
        self.device = "remote"
        self._client = httpx.Client(timeout=timeout)

    def warm_up(self) -> None:
        """Nothing to load here; a host that is down now is retried per request (behind the breaker)."""

    def generate(self, inputs: list[str]) -> list[str | None]:
        if not self.breaker.allow():
            raise DrafterUnavailable(f"the drafter at {self.url} failed repeatedly; retrying in "
                                     f"{self.breaker.reset_seconds:.0f} s (replies come from templates meanwhile)")
        ok = False
        try:
            response = self._client.post(self.url + "/v1/generate", json={"inputs": inputs})
            response.raise_for_status()
            outputs = response.json()["outputs"]
            if not isinstance(outputs, list) or len(outputs) != len(inputs) or \
                    not all(o is None or isinstance(o, str) for o in outputs):
                raise ValueError(f"expected {len(inputs)} texts, got {str(outputs)[:200]}")
            ok = True
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise DrafterUnavailable(f"the drafter at {self.url} did not answer: {exc.__class__.__name__}: {exc}") from exc
        finally:
            self.breaker.record(ok)  # whatever happened, a half-open breaker learns the trial's outcome
        return outputs
