"""The first schema: conversations, messages, feedback.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation",
        sa.Column("channel", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("lang", sqlmodel.AutoString(length=8), nullable=True),
        sa.Column("escalation_reason", sqlmodel.AutoString(length=200), nullable=True),
        sa.Column("id", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_conversation_status", "conversation", ["status"])
    op.create_index("ix_conversation_created_at", "conversation", ["created_at"])
    op.create_table(
        "message",
        sa.Column("role", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("text", sqlmodel.AutoString(), nullable=False),
        sa.Column("lang", sqlmodel.AutoString(length=8), nullable=True),
        sa.Column("intent", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("intent_confidence", sa.Float(), nullable=True),
        sa.Column("out_of_scope", sa.Boolean(), nullable=True),
        sa.Column("sentiment", sqlmodel.AutoString(length=16), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("retrieved", sa.JSON(), nullable=True),
        sa.Column("entities", sa.JSON(), nullable=True),
        sa.Column("pii_found", sa.JSON(), nullable=True),
        sa.Column("action", sqlmodel.AutoString(length=16), nullable=True),
        sa.Column("reason", sqlmodel.AutoString(length=200), nullable=True),
        sa.Column("source", sqlmodel.AutoString(length=16), nullable=True),
        sa.Column("template_id", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("model_versions", sa.JSON(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_message_conversation_id", "message", ["conversation_id"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sqlmodel.AutoString(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feedback_message_id", "feedback", ["message_id"])
    op.create_index("ix_feedback_conversation_id", "feedback", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("message")
    op.drop_table("conversation")
