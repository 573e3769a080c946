"""Agent accounts, the log of their actions, and label corrections on messages.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("password_hash", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "agentaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agentaction_agent_id", "agentaction", ["agent_id"])
    op.create_index("ix_agentaction_conversation_id", "agentaction", ["conversation_id"])
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("corrected_intent", sqlmodel.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column("corrected_sentiment", sqlmodel.AutoString(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("corrected_sentiment")
        batch.drop_column("corrected_intent")
    op.drop_table("agentaction")
    op.drop_table("agent")
