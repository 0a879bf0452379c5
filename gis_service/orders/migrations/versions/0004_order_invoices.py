"""Invoices of orders paid by invoice: sent, paid or written off, with dates and amounts."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_invoices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("invoice_number", sa.String(60), nullable=True),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("paid_cents", sa.Integer(), nullable=True),
        sa.Column("written_off_on", sa.Date(), nullable=True),
        sa.Column("write_off_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_invoices"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_order_invoices_order_id_orders",
                                ondelete="CASCADE"),
        sa.UniqueConstraint("order_id", name="uq_order_invoices_order_id"),
    )
    op.create_index("ix_order_invoices_status", "order_invoices", ["status"])
    op.create_index("ix_order_invoices_paid_on", "order_invoices", ["paid_on"])


def downgrade() -> None:
    op.drop_index("ix_order_invoices_paid_on", table_name="order_invoices")
    op.drop_index("ix_order_invoices_status", table_name="order_invoices")
    op.drop_table("order_invoices")
