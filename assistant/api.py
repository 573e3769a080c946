"""The HTTP API that shop pages use: start a conversation with a shop key, then talk in it with the
conversation's own token. Thin routes over `Assistant` and `store`; errors are JSON with a message."""

from __future__ import annotations

import hmac
import logging
import ipaddress
import os
import threading
import time

import anyio
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from assistant import metrics, store
from assistant.api_models import (API_GET, API_POST, API_POST_JSON, ConversationOut, FeedbackIn, FeedbackOut,
                                  HealthOut, MessageIn, MessageOut, ReadyOut, ReplyOut, SentOut, StatusOut, refusals)
from assistant.access import TOKEN_PREFIX, matches, new_secret
from assistant.errors import EXPECTED_ERRORS, ConversationNotFound, InvalidInput, StoreError
from assistant.pipeline import Assistant
from assistant.tables import ApiKey, Conversation, Message

logger = logging.getLogger(__name__)


class RateLimiter:
    """Token buckets: `rate` requests per minute per key, with bursts up to `rate`."""

    def __init__(self, per_minute: int):
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > 100_000:  # forget idle clients rather than grow without bound
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 300}
            return allowed


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer ") or not authorization[7:].strip():
        raise HTTPException(401, "missing credentials: send 'Authorization: Bearer <key or token>'")
    return authorization[7:].strip()


# A request relayed by a proxy on this machine arrives from loopback too: one that says it was forwarded is
# treated as coming from elsewhere (it needs the metrics token).
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def _from_this_machine(request: Request) -> bool:
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.client.host if request.client else "").is_loopback
    except ValueError:
        return False


def build_router(assistant: Assistant) -> APIRouter:
    """Routes bound to one shared Assistant."""
    settings = assistant.settings
    per_ip = RateLimiter(settings.api_rate_per_ip)
    per_key = RateLimiter(settings.api_rate_per_key)
    router = APIRouter()

    def limit(request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        if not per_ip.allow(client):
            raise HTTPException(429, f"too many requests from {client}: at most {settings.api_rate_per_ip} a minute")

    def conversation_for(conversation_id: str, authorization: str | None) -> Conversation:
        token = _bearer(authorization)
        with store.transaction(assistant.engine) as session:
            conversation = session.get(Conversation, conversation_id)
        # The same answer for a missing conversation and a wrong token: ids reveal nothing.
        if conversation is None or not matches(token, conversation.token_hash):
            raise HTTPException(403, "this token does not open that conversation")
        # Per conversation only: a shop's many open widgets must not share (and drain) one key's budget.
        if not per_key.allow(f"conversation:{conversation.id}"):
            raise HTTPException(429, "too many messages: slow down and try again in a few seconds")
        return conversation

    @router.get("/healthz", response_model=HealthOut)
    async def healthz() -> dict:
        """Alive: the process answers (loads nothing; a load balancer's liveness probe). Async, so it is answered
        on the event loop even while every worker thread waits on the database."""
        return {"status": "ok"}

    @router.get("/readyz", response_model=ReadyOut, responses=refusals(503))
    def readyz() -> dict:
        """Ready to answer customers: the models are loaded and the database answers (503 saying what is wrong)."""
        try:
            assistant.warm_up()
            versions = assistant.model_versions
            store.ping(assistant.engine)
        except StoreError as exc:
            raise HTTPException(503, "the database is not answering", headers={"Retry-After": "5"}) from exc
        except EXPECTED_ERRORS as exc:
            raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "5"}) from exc
        return {"status": "ok", "models": versions, "process": os.getpid()}

    @router.get("/metrics", include_in_schema=False)
    def prometheus(request: Request, authorization: str | None = Header(default=None)) -> Response:
        """Prometheus metrics: with `ASSISTANT_METRICS_TOKEN` set, for its bearer only; else from this machine only."""
        token = assistant.settings.metrics_token
        if token:
            if not hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode()):
                raise HTTPException(401, "send the metrics token: Authorization: Bearer <ASSISTANT_METRICS_TOKEN>")
        elif not _from_this_machine(request):
            raise HTTPException(403, "metrics are served to this machine only: set ASSISTANT_METRICS_TOKEN to scrape "
                                     "them from elsewhere")
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    @router.post("/api/v1/conversations", status_code=201, response_model=ConversationOut, responses=API_POST,
                 dependencies=[Depends(limit)])
    def start(authorization: str | None = Header(default=None), origin: str | None = Header(default=None)) -> ConversationOut:
        """Start a conversation with a shop key; the returned token opens it (and only it)."""
        key = _bearer(authorization)
        token, token_hash = new_secret(TOKEN_PREFIX)
        with store.transaction(assistant.engine) as session:
            row: ApiKey | None = store.find_api_key(session, key=key)
            if row is None:
                raise HTTPException(401, "unknown or revoked API key: create one with `assistant keys create`")
            if origin and row.origins and origin.rstrip("/") not in row.origins:
                raise HTTPException(403, f"this key may be used from {', '.join(row.origins)}, not from {origin}")
            if not per_key.allow(f"key:{row.id}"):
                raise HTTPException(429, f"too many requests for key {row.prefix}…")
            conversation = store.create_conversation(session, channel="api", token_hash=token_hash, api_key_id=row.id)
        return ConversationOut(id=conversation.id, token=token)

    @router.post("/api/v1/conversations/{conversation_id}/messages", response_model=SentOut, responses=API_POST_JSON,
                 dependencies=[Depends(limit)])
    def send(conversation_id: str, message: MessageIn, authorization: str | None = Header(default=None)) -> SentOut:
        """Send the customer's message; the reply comes back with its intent, sentiment and sources."""
        conversation = conversation_for(conversation_id, authorization)
        reply = assistant.reply(conversation.id, message.text, channel="api", token=_bearer(authorization))
        return SentOut(**reply.as_json(), customer_message_id=reply.customer_message_id)

    @router.get("/api/v1/conversations/{conversation_id}", response_model=StatusOut, responses=API_GET,
                dependencies=[Depends(limit)])
    def status(conversation_id: str, authorization: str | None = Header(default=None)) -> dict:
        """The conversation's status (bot, escalated, agent, resolved): what a widget shows the customer."""
        conversation = conversation_for(conversation_id, authorization)
        return {"id": conversation.id, "status": conversation.status, "lang": conversation.lang,
                "escalated": conversation.status in ("escalated", "agent")}

    @router.post("/api/v1/conversations/{conversation_id}/escalate", response_model=ReplyOut, responses=API_POST,
                 dependencies=[Depends(limit)])
    def escalate(conversation_id: str, authorization: str | None = Header(default=None)) -> dict:
        """The customer's own 'talk to a person' button: hand the conversation to an agent now."""
        conversation = conversation_for(conversation_id, authorization)
        return assistant.request_human(conversation.id, channel="api", token=_bearer(authorization)).as_json()

    @router.get("/api/v1/conversations/{conversation_id}/messages", response_model=list[MessageOut],
                responses=API_GET, dependencies=[Depends(limit)])
    def poll(conversation_id: str, after: int = Query(0, ge=0, le=store.MAX_ID, description="Only messages after this id."),
             authorization: str | None = Header(default=None)) -> list[MessageOut]:
        """The conversation's messages in order (agent replies included), optionally after a message id."""
        conversation = conversation_for(conversation_id, authorization)
        with store.transaction(assistant.engine) as session:
            rows = store.list_messages(session, conversation_id=conversation.id, after_id=after)
        return [MessageOut(id=m.id, role=m.role, text=m.text, created_at=m.created_at, intent=m.intent,
                           sentiment=m.sentiment, source=m.source) for m in rows]

    @router.post("/api/v1/messages/{message_id}/feedback", status_code=201, response_model=FeedbackOut,
                 responses=API_POST_JSON, dependencies=[Depends(limit)])
    def feedback(body: FeedbackIn, message_id: int = PathParam(..., ge=1, le=store.MAX_ID),
                 authorization: str | None = Header(default=None)) -> dict:
        """Rate a bot reply; the token of the reply's conversation authorises it."""
        with store.transaction(assistant.engine) as session:
            message = session.get(Message, message_id)
        conversation = conversation_for(message.conversation_id if message else "", authorization)
        return {"id": assistant.feedback(conversation.id, message_id, body.rating, body.comment,
                                         token=_bearer(authorization))}

    # The chat is mounted at / and would answer a known path asked with another method with a 404, as if the
    # path did not exist: every other method of each path gets a 405 that says which methods it takes.
    methods: dict[str, set[str]] = {}
    for route in router.routes:
        methods.setdefault(route.path, set()).update(route.methods)
    for path, allowed in methods.items():
        router.add_api_route(path, _refuse_method(sorted(allowed)), methods=sorted(set(HTTP_METHODS) - allowed),
                             include_in_schema=False)
    return router


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY")


def _refuse_method(allowed: list[str]):
    allow = ", ".join(allowed)

    def refuse(request: Request) -> JSONResponse:
        return JSONResponse({"detail": f"{request.method} is not allowed here: use {allow}"}, status_code=405,
                            headers={"Allow": allow})

    return refuse


PROBES = ("/healthz", "/readyz", "/metrics")


def install_error_handlers(app: FastAPI, max_body_bytes: int) -> None:
    """JSON bodies for every refusal: broken JSON is 400, an oversized body 413, never a 500 for bad input."""

    @app.exception_handler(StoreError)
    async def store_down(request: Request, exc: StoreError) -> JSONResponse:
        logger.error("%s %s: %s", request.method, request.url.path, exc)  # the cause (disk full, refused, ...)
        return JSONResponse({"detail": "the database could not take the request (not answering, or refusing "
                                       "writes); nothing was half-saved: try again"},
                            status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(ConversationNotFound)
    async def not_found(request: Request, exc: ConversationNotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"detail": "the body is not valid JSON"}, status_code=400)
        where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors)
        return JSONResponse({"detail": f"invalid request: {where}"}, status_code=422)

    @app.middleware("http")
    async def count_errors(request: Request, call_next):
        """Every failed request once, by status (probes excepted: a 503 from /readyz is an answer, not an error)."""
        try:
            response = await call_next(request)
        except Exception:
            metrics.ERRORS.labels("unhandled").inc()
            raise
        if response.status_code >= 500 and request.url.path not in PROBES:
            metrics.ERRORS.labels(f"http_{response.status_code}").inc()
        return response

    @app.middleware("http")
    async def body_limit(request: Request, call_next):
        if request.url.path.startswith("/api/") and request.method in ("POST", "PUT", "PATCH"):
            length = request.headers.get("content-length")
            if length is None and "transfer-encoding" in request.headers:
                # a chunked body could be of any size: refuse it before reading it (no length and no chunks: empty)
                return JSONResponse({"detail": "send the body with a Content-Length header"}, status_code=411)
            length = length or "0"
            if not (length.isascii() and length.isdecimal()) or int(length) > max_body_bytes:
                return JSONResponse({"detail": f"the body is larger than {max_body_bytes} bytes"}, status_code=413)
        return await call_next(request)


def install_cors(app: FastAPI, assistant: Assistant, refresh_seconds: float = 30.0) -> None:
    """CORS for /api/: the settings' origins plus those of the active shop keys (re-read every 30 s)."""
    cache: dict = {"at": 0.0, "origins": set()}

    def allowed() -> set[str]:
        if time.monotonic() - cache["at"] > refresh_seconds:
            with store.transaction(assistant.engine) as session:
                keys = [k for k in store.list_api_keys(session) if k.revoked_at is None]
            cache["origins"] = ({o.rstrip("/") for o in assistant.settings.cors_origins}
                                | {o for k in keys for o in (k.origins or [])})
            cache["at"] = time.monotonic()
        return cache["origins"]

    @app.middleware("http")
    async def cors(request: Request, call_next):
        origin = request.headers.get("origin")
        if not origin or not request.url.path.startswith("/api/"):
            return await call_next(request)
        ok = origin.rstrip("/") in await anyio.to_thread.run_sync(allowed)
        headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                   "Access-Control-Allow-Headers": "Authorization, Content-Type",
                   "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                   "Access-Control-Max-Age": "600"} if ok else {"Vary": "Origin"}
        if request.method == "OPTIONS" and request.headers.get("access-control-request-method"):
            return JSONResponse({} if ok else {"detail": f"origin {origin} is not allowed for this API"},
                                status_code=200 if ok else 403, headers=headers)
        response = await call_next(request)
        response.headers.update(headers)
        return response
