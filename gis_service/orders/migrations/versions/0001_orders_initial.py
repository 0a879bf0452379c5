"""Orders, audit events, payments, documents, mail outbox and staff accounts."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_number", sa.String(32), nullable=False),
        sa.Column("token_salt", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("product_id", sa.String(40), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("handling", sa.String(10), nullable=False),
        sa.Column("staff_reason", sa.Text(), nullable=True),
        sa.Column("parcel_key", sa.String(20), nullable=False),
        sa.Column("parcel_label", sa.String(200), nullable=False),
        sa.Column("paper", sa.String(2), nullable=True),
        sa.Column("orientation", sa.String(10), nullable=True),
        sa.Column("scale", sa.Integer(), nullable=True),
        sa.Column("centre_x", sa.Float(), nullable=True),
        sa.Column("centre_y", sa.Float(), nullable=True),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("delivery", sa.String(10), nullable=False),
        sa.Column("certified", sa.Boolean(), nullable=False),
        sa.Column("payment_method", sa.String(10), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("fee_breakdown", sa.JSON(), nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=True),
        sa.Column("contact_email", sa.String(254), nullable=True),
        sa.Column("contact_phone", sa.String(50), nullable=True),
        sa.Column("contact_organisation", sa.String(200), nullable=True),
        sa.Column("address_street", sa.String(200), nullable=True),
        sa.Column("address_postcode", sa.String(10), nullable=True),
        sa.Column("address_city", sa.String(100), nullable=True),
        sa.Column("address_country", sa.String(2), nullable=True),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("justification_purged_at", sa.DateTime(), nullable=True),
        sa.Column("anonymised_at", sa.DateTime(), nullable=True),
        sa.Column("attention", sa.Boolean(), nullable=False),
        sa.Column("assigned_to", sa.String(80), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("closing_reason", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(250), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("order_number", name="uq_orders_order_number"),
        sa.UniqueConstraint("idempotency_key", name="uq_orders_idempotency_key"),
    )
    for column in ("status", "created_at", "closed_at", "product_id", "handling", "parcel_key", "contact_name",
                   "anonymised_at", "attention"):
        op.create_index(f"ix_orders_{column}", "orders", [column])

    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_order_events_order_id_orders", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_order_events"),
    )
    op.create_index("ix_order_events_order_id", "order_events", ["order_id"])

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("request_id", sa.String(80), nullable=False),
        sa.Column("transaction_id", sa.String(120), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reference", sa.String(120), nullable=True),
        sa.Column("payment_url", sa.Text(), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("reported_amount_cents", sa.Integer(), nullable=True),
        sa.Column("reported_currency", sa.String(3), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(), nullable=True),
        sa.Column("refund_status", sa.String(10), nullable=True),
        sa.Column("refund_id", sa.String(120), nullable=True),
        sa.Column("refunded_cents", sa.Integer(), nullable=False),
        sa.Column("refund_attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_payments_order_id_orders", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        sa.UniqueConstraint("request_id", name="uq_payments_request_id"),
        sa.UniqueConstraint("transaction_id", name="uq_payments_transaction_id"),
    )
    op.create_index("ix_payments_order_id", "payments", ["order_id"])
    op.create_index("ix_payments_status", "payments", ["status"])
    op.create_index("ix_payments_refund_status", "payments", ["refund_status"])

    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("storage_name", sa.String(200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_documents_order_id_orders", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
    )
    op.create_index("ix_documents_order_id", "documents", ["order_id"])

    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(250), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_mail_outbox_order_id_orders", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_mail_outbox"),
    )
    op.create_index("ix_mail_outbox_order_id", "mail_outbox", ["order_id"])
    op.create_index("ix_mail_outbox_sent_at", "mail_outbox", ["sent_at"])

    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_staff_users"),
        sa.UniqueConstraint("username", name="uq_staff_users_username"),
    )


def downgrade() -> None:
    for table in ("staff_users", "mail_outbox", "documents", "payments", "order_events", "orders"):
        op.drop_table(table)
