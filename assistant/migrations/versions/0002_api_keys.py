"""API keys for shops, and per-conversation API tokens.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apikey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("key_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("prefix", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("origins", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("key_hash"),
    )
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(sa.Column("token_hash", sqlmodel.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column("api_key_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_conversation_api_key_id_apikey", "apikey", ["api_key_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.drop_constraint("fk_conversation_api_key_id_apikey", type_="foreignkey")
        batch.drop_column("api_key_id")
        batch.drop_column("token_hash")
    op.drop_table("apikey")
