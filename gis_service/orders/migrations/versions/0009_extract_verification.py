"""Official extracts carry a verification code; its public record (no personal data) outlives the order's purge."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Extracts issued before this change have no code: nothing to record for them.
    op.create_table(
        "extract_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("parcel_key", sa.String(length=20), nullable=False),
        sa.Column("parcel_label", sa.String(length=200), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=False),
        sa.Column("paper", sa.String(length=2), nullable=False),
        sa.Column("orientation", sa.String(length=10), nullable=False),
        sa.Column("data_currency", sa.String(length=40), nullable=True),
        sa.Column("office", sa.String(length=200), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_reason", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_extract_verifications_order_id_orders",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name="fk_extract_verifications_document_id_documents", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_extract_verifications"),
        sa.UniqueConstraint("code", name="uq_extract_verifications_code"),
        sa.UniqueConstraint("document_id", name="uq_extract_verifications_document_id"),
    )
    op.create_index("ix_extract_verifications_order_id", "extract_verifications", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_extract_verifications_order_id", table_name="extract_verifications")
    op.drop_table("extract_verifications")
