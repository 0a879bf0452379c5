"""Orders paid by invoice wait for the owner of the e-mail address to confirm them before any other mail or staff work."""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Orders placed before this change were handled as before: none of them waits.
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("awaiting_confirmation", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_orders_awaiting_confirmation", ["awaiting_confirmation"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_awaiting_confirmation")
        batch.drop_column("awaiting_confirmation")
