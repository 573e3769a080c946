"""The audit log: administrators' commands (AdminAction) and agents' actions (AgentAction), newest first."""

from __future__ import annotations

import getpass
import socket
from datetime import datetime
from pathlib import PurePath

from sqlmodel import Session, select

from assistant.pii import mask
from assistant.tables import Agent, AgentAction, AdminAction


def actor() -> str:
    """user@host of the process running a command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"[:128]


def _plain(value):
    """An argument as JSON: paths and other objects as their text, personal data masked."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    text = str(value) if isinstance(value, (str, PurePath)) else repr(value)
    return mask(text[:500]).text


def record_admin_action(session: Session, *, action: str, arguments: dict, outcome: str,
                        who: str | None = None) -> AdminAction:
    row = AdminAction(actor=who or actor(), action=action[:64], outcome=mask(outcome).text[:200],
                      arguments={name: _plain(value) for name, value in arguments.items()})
    session.add(row)
    session.flush()
    return row


def entries(session: Session, *, limit: int = 50, since: datetime | None = None) -> list[dict]:
    """Admin and agent entries merged, newest first: when, who, what, on which, and how it ended."""
    admin = select(AdminAction).order_by(AdminAction.id.desc()).limit(limit)
    agent = (select(AgentAction, Agent.name).join(Agent, Agent.id == AgentAction.agent_id)
             .order_by(AgentAction.id.desc()).limit(limit))
    if since is not None:
        admin = admin.where(AdminAction.created_at >= since)
        agent = agent.where(AgentAction.created_at >= since)
    rows = [{"at": a.created_at, "kind": "admin", "who": a.actor, "action": a.action, "target": None,
             "detail": a.arguments, "outcome": a.outcome} for a in session.exec(admin)]
    rows += [{"at": a.created_at, "kind": "agent", "who": name, "action": a.action, "target": a.conversation_id,
              "detail": a.detail, "outcome": "done"} for a, name in session.exec(agent)]
    return sorted(rows, key=lambda r: r["at"], reverse=True)[:limit]
