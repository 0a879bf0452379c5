"""Staff search text on each order (backfilled), an index for the "mine" filter, and internal notes."""

import sqlalchemy as sa
from alembic import op

from gis_service.orders.staff_search import SEARCHED_FIELDS, search_text_of_row

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=True))
    op.create_index("ix_orders_assigned_to", "orders", ["assigned_to"])
    op.create_table(
        "order_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_order_notes_order_id_orders", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_order_notes"),
    )
    op.create_index("ix_order_notes_order_id", "order_notes", ["order_id"])
    _backfill()


def _backfill() -> None:
    """Fill the search text of existing orders in batches, so a large table is not held in memory."""
    connection = op.get_bind()
    orders = sa.table("orders", sa.column("id", sa.Integer), sa.column("search_text", sa.Text),
                      *(sa.column(name, sa.String) for name in SEARCHED_FIELDS))
    last_id = 0
    while True:
        rows = connection.execute(sa.select(orders).where(orders.c.id > last_id).order_by(orders.c.id)
                                  .limit(_BATCH)).mappings().all()
        if not rows:
            return
        connection.execute(orders.update().where(orders.c.id == sa.bindparam("row_id"))
                           .values(search_text=sa.bindparam("text")),
                           [{"row_id": row["id"], "text": search_text_of_row(row)} for row in rows])
        last_id = rows[-1]["id"]


def downgrade() -> None:
    op.drop_index("ix_order_notes_order_id", table_name="order_notes")
    op.drop_table("order_notes")
    op.drop_index("ix_orders_assigned_to", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("search_text")
