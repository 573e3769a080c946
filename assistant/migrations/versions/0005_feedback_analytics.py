"""Review batches, analysed reviews and negative-sentiment alerts (the dashboard's analytics).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviewbatch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("status", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("model", sqlmodel.AutoString(length=100), nullable=True),
        sa.Column("report_dir", sqlmodel.AutoString(), nullable=True),
        sa.Column("error", sqlmodel.AutoString(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reviewbatch_created_at", "reviewbatch", ["created_at"])
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.AutoString(), nullable=False),
        sa.Column("product", sqlmodel.AutoString(length=200), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rating", sa.Float(), nullable=True),
        sa.Column("lang", sqlmodel.AutoString(length=8), nullable=True),
        sa.Column("sentiment", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("negative_score", sa.Float(), nullable=False),
        sa.Column("aspects", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("mentions", sa.JSON(none_as_null=True), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["reviewbatch.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_batch_id", "review", ["batch_id"])
    op.create_index("ix_review_product", "review", ["product"])
    op.create_index("ix_review_reviewed_at", "review", ["reviewed_at"])
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("scope", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("key", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_negative", sa.Integer(), nullable=False),
        sa.Column("window_total", sa.Integer(), nullable=False),
        sa.Column("baseline_negative", sa.Integer(), nullable=False),
        sa.Column("baseline_total", sa.Integer(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("test", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("webhook", sqlmodel.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_created_at", "alert", ["created_at"])
    # The dashboard's time ranges filter customer messages by creation time.
    op.create_index("ix_message_created_at", "message", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_message_created_at", table_name="message")
    op.drop_table("alert")
    op.drop_table("review")
    op.drop_table("reviewbatch")
