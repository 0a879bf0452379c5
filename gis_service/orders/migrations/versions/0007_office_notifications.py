"""Office notifications: who a mail is for (citizen or office) and what the office was told already."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mail_outbox") as batch:
        batch.add_column(sa.Column("audience", sa.String(10), nullable=False, server_default="citizen"))
    op.create_table(
        "office_notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("ref", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("mailed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_office_notices"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_office_notices_order_id_orders",
                                ondelete="CASCADE"),
        sa.UniqueConstraint("kind", "ref", name="uq_office_notices_kind_ref"),
    )
    op.create_index("ix_office_notices_order_id", "office_notices", ["order_id"])
    op.create_index("ix_office_notices_mailed_at", "office_notices", ["mailed_at"])


def downgrade() -> None:
    op.drop_index("ix_office_notices_mailed_at", table_name="office_notices")
    op.drop_index("ix_office_notices_order_id", table_name="office_notices")
    op.drop_table("office_notices")
    with op.batch_alter_table("mail_outbox") as batch:
        batch.drop_column("audience")
