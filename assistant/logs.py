"""Structured logs: one JSON object per line, carrying the conversation being answered, never personal data.

`configure(json_lines=True)` (setting `ASSISTANT_LOG_JSON`) installs the formatter on the root logger;
`conversation(id)` marks the lines logged while a conversation's turn runs.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from contextlib import contextmanager
from datetime import datetime, timezone

from assistant.pii import mask

_CONVERSATION: contextvars.ContextVar[str | None] = contextvars.ContextVar("conversation_id", default=None)


@contextmanager
def conversation(conversation_id: str | None):
    """Lines logged inside carry `conversation_id`."""
    token = _CONVERSATION.set(conversation_id)
    try:
        yield
    finally:
        _CONVERSATION.reset(token)


def set_conversation(conversation_id: str) -> None:
    """Name the conversation once it exists (a first turn creates it part-way); `conversation` resets it."""
    _CONVERSATION.set(conversation_id)


class MaskFilter(logging.Filter):
    """The last guard, in either format: a line that quotes a customer must not carry their phone or e-mail."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask(record.getMessage()).text, None
        return True


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "conversation_id"?, "error"?}`; the message and error masked."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name,
                "message": mask(record.getMessage()).text}
        conversation_id = getattr(record, "conversation_id", None) or _CONVERSATION.get()
        if conversation_id:
            line["conversation_id"] = conversation_id
        if record.exc_info:
            line["error"] = mask(self.formatException(record.exc_info)).text
        return json.dumps(line, ensure_ascii=False)


# Our packages log at INFO; libraries (httpx logs every request at INFO) only from WARNING.
OWN_LOGGERS = ("assistant", "retrieval", "finetune", "ui")


def configure(*, json_lines: bool, level: int = logging.INFO) -> None:
    """Log to stderr, as JSON lines or as plain text, personal data masked in both."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)
