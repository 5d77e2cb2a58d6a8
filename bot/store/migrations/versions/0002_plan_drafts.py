"""plan drafts, revisions and edit history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:46:09.640731
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DRAFTS_ONLY = sa.text("status = 'draft'")


def upgrade() -> None:
    op.create_table(
        "plan_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("target_position", sa.Integer(), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["support_plans.id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("plan_edits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_edits_plan_id"), ["plan_id"], unique=False)

    with op.batch_alter_table("support_plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_by_staff_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("draft_state", sa.Text(), nullable=True))
        batch_op.create_index(
            "uq_one_draft_per_pupil", ["pupil_id"], unique=True, sqlite_where=DRAFTS_ONLY, postgresql_where=DRAFTS_ONLY
        )
        batch_op.create_foreign_key("fk_support_plans_updated_by_staff", "staff", ["updated_by_staff_id"], ["id"])

    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.alter_column("difficulty", existing_type=sa.TEXT(), nullable=True)
        batch_op.alter_column("outcome", existing_type=sa.TEXT(), nullable=True)


def downgrade() -> None:
    # Half-written targets of drafts cannot live in the older schema.
    op.execute("DELETE FROM targets WHERE difficulty IS NULL OR outcome IS NULL")
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.alter_column("outcome", existing_type=sa.TEXT(), nullable=False)
        batch_op.alter_column("difficulty", existing_type=sa.TEXT(), nullable=False)

    with op.batch_alter_table("support_plans", schema=None) as batch_op:
        batch_op.drop_constraint("fk_support_plans_updated_by_staff", type_="foreignkey")
        batch_op.drop_index("uq_one_draft_per_pupil", sqlite_where=DRAFTS_ONLY, postgresql_where=DRAFTS_ONLY)
        batch_op.drop_column("draft_state")
        batch_op.drop_column("revision")
        batch_op.drop_column("updated_by_staff_id")

    with op.batch_alter_table("plan_edits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_edits_plan_id"))

    op.drop_table("plan_edits")
