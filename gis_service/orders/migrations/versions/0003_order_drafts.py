"""Citizens' orders in progress (drafts) kept on the server, with an expiry for their personal data."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("form_values", sa.JSON(), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_drafts"),
        sa.UniqueConstraint("id_hash", name="uq_order_drafts_id_hash"),
    )
    op.create_index("ix_order_drafts_expires_at", "order_drafts", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_order_drafts_expires_at", table_name="order_drafts")
    op.drop_table("order_drafts")
