"""Answers agents approved for the knowledge base (the learning loop adds them to the FAQ index), and an
index on the intents agents set.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approvedanswer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("question", sqlmodel.AutoString(), nullable=False),
        sa.Column("answer", sqlmodel.AutoString(), nullable=False),
        sa.Column("intent", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("lang", sqlmodel.AutoString(length=8), nullable=True),
        sa.Column("entry_id", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("index_version", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_approvedanswer_conversation_id", "approvedanswer", ["conversation_id"])
    # The console lists the intents agents introduced (a DISTINCT over this column) on every click.
    op.create_index("ix_message_corrected_intent", "message", ["corrected_intent"])


def downgrade() -> None:
    op.drop_index("ix_message_corrected_intent", table_name="message")
    op.drop_table("approvedanswer")
