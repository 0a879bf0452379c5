"""Accessibility feedback: messages from the statement's form, read and answered by staff."""

import sqlalchemy as sa
from alembic import op

revision = "0010"
# After "0009" (extract verification).
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accessibility_feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("page_url", sa.String(2000), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.Column("read_by", sa.String(120), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("answered_by", sa.String(120), nullable=True),
        sa.Column("mail_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_accessibility_feedback"),
        sa.ForeignKeyConstraint(["mail_id"], ["mail_outbox.id"], name="fk_accessibility_feedback_mail_id_mail_outbox",
                                ondelete="SET NULL"),
    )
    op.create_index("ix_accessibility_feedback_created_at", "accessibility_feedback", ["created_at"])
    op.create_index("ix_accessibility_feedback_status", "accessibility_feedback", ["status"])


def downgrade() -> None:
    op.drop_index("ix_accessibility_feedback_status", table_name="accessibility_feedback")
    op.drop_index("ix_accessibility_feedback_created_at", table_name="accessibility_feedback")
    op.drop_table("accessibility_feedback")
