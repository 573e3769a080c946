"""The audit log of administrators' commands (keys, agents, models, index, training).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adminaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.AutoString(length=128), nullable=False),
        sa.Column("action", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=True),
        sa.Column("outcome", sqlmodel.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_adminaction_created_at", "adminaction", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_adminaction_created_at", table_name="adminaction")
    op.drop_table("adminaction")
