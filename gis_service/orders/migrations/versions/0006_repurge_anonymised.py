"""Indexes for the purge's due orders; orders anonymised by the earlier, incomplete purge are made due again."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The periodic order tasks ask for due orders every round: a range on these, not a scan.
    op.create_index("ix_orders_purge_due", "orders", ["anonymised_at", "closed_at"])
    op.create_index("ix_orders_justification_due", "orders", ["closed_at"],
                    sqlite_where=sa.text("justification IS NOT NULL"),
                    postgresql_where=sa.text("justification IS NOT NULL"))
    # The earlier purge kept free text (audit reasons, closing and staff reasons, payment problem
    # texts) and the files of replaced extracts. Purging again is harmless: what is
    # already gone stays gone, and the earlier run's date stays in its audit event.
    op.execute(sa.text("UPDATE orders SET anonymised_at = NULL WHERE anonymised_at IS NOT NULL"))


def downgrade() -> None:
    # The dates cleared need no restoring: the purge sets them again on its next run.
    op.drop_index("ix_orders_justification_due", table_name="orders")
    op.drop_index("ix_orders_purge_due", table_name="orders")
