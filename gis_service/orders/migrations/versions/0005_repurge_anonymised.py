"""Orders anonymised by the earlier, incomplete purge are made due again, so the complete purge clears them too."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The earlier purge kept free text (audit reasons, closing and staff reasons, mail bodies of
    # sent mail aside) and the files of replaced extracts. Purging again is harmless: what is
    # already gone stays gone, and the earlier run's date stays in its audit event.
    op.execute(sa.text("UPDATE orders SET anonymised_at = NULL WHERE anonymised_at IS NOT NULL"))


def downgrade() -> None:
    # Nothing to undo: the purge sets the date again on its next run.
    pass
