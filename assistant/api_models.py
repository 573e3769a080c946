"""The HTTP API's bodies and refusals, as its OpenAPI schema states them (schemathesis checks every response
against it: tests/ui/test_api_schema.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from assistant.tables import as_utc


class MessageIn(BaseModel):
    text: str = Field(max_length=20_000, description="The customer's message (cut to 2,000 characters).")


class FeedbackIn(BaseModel):
    rating: Literal[1, -1] = Field(description="1 for thumbs up, -1 for thumbs down.")
    comment: str | None = Field(default=None, max_length=2_000)


class ConversationOut(BaseModel):
    id: str
    token: str


class MessageOut(BaseModel):
    id: int
    role: str
    text: str
    created_at: datetime
    intent: str | None = None
    sentiment: str | None = None
    source: str | None = None

    @field_validator("created_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        """SQLite gives stored times back naive (they are UTC): say so, or a browser reads them as its local time."""
        return as_utc(value)


class SourceOut(BaseModel):
    id: str
    score: float


class EntityOut(BaseModel):
    kind: str
    value: str


class ReplyOut(BaseModel):
    """A bot reply as `Reply.as_json` gives it."""

    conversation_id: str
    message_id: int = Field(description="The stored reply (rate it with /feedback); 0 when nothing was stored.")
    reply: str
    action: str
    reason: str
    source: str
    template_id: str | None
    intent: str | None
    intent_confidence: float | None
    sentiment: str | None
    sentiment_score: float | None
    escalated: bool
    status: str
    lang: str
    sources: list[SourceOut]
    entities: list[EntityOut]
    notices: list[str]
    latency_ms: float


class SentOut(ReplyOut):
    customer_message_id: int = Field(description="The customer's stored message; 0 when nothing was stored.")


class StatusOut(BaseModel):
    id: str
    status: str
    lang: str | None
    escalated: bool


class FeedbackOut(BaseModel):
    id: int


class HealthOut(BaseModel):
    status: str


class ReadyOut(HealthOut):
    models: dict[str, str | None]
    process: int = Field(description="The answering process's id (one of the workers under `serve --workers N`).")


class ErrorOut(BaseModel):
    """Every refusal's body (FastAPI's own list of validation errors is replaced by one message)."""

    detail: str


REFUSALS = {
    400: "The body is not valid JSON.",
    401: "No credentials, or an unknown or revoked key.",
    403: "The key may not be used from this origin, or the token does not open this conversation.",
    411: "A chunked body (Transfer-Encoding) without a Content-Length header.",
    413: "A body larger than the settings' `api_max_body_bytes` (64 KiB unless set; a text near its 20,000-character "
         "limit can pass that in non-Latin script).",
    422: "A parameter or the body is invalid.",
    429: "Too many requests from this address, for this key or in this conversation.",
    503: "The database is not answering (nothing was half-saved); retry after `Retry-After` seconds.",
}


def refusals(*statuses: int) -> dict:
    """The OpenAPI `responses` for these refusals, each with the `ErrorOut` body they share."""
    return {status: {"model": ErrorOut, "description": REFUSALS[status]} for status in statuses}


# Every route under /api/ is rate-limited, checks credentials and reads the database; POSTs pass the body limit.
API_GET = refusals(401, 403, 422, 429, 503)
API_POST = refusals(401, 403, 411, 413, 422, 429, 503)
API_POST_JSON = refusals(400, 401, 403, 411, 413, 422, 429, 503)
