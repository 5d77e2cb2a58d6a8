"""review capture, reminders and evidence links

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:33:15.902391
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

IN_PROGRESS_ONLY = sa.text("status = 'in_progress'")
NEW_TYPES = {
    "review_status": ("booked", "in_progress", "held"),
    "review_decision": ("carry_on", "no_longer_needed", "consider_ehc_assessment"),
    "next_step": ("carry_on", "new_target", "different_provision"),
}


def _enum(name: str, *values: str) -> sa.Enum:
    """A column type of an enum made (or kept) by this migration itself, never by a table."""
    return sa.Enum(*values, name=name).with_variant(
        postgresql.ENUM(*values, name=name, create_type=False), "postgresql"
    )


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name, values in NEW_TYPES.items():
            postgresql.ENUM(*values, name=name).create(bind, checkfirst=True)
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_channel", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id", "staff_id", name="uq_one_reminder"),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "review_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_edits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_edits_review_id"), ["review_id"], unique=False)

    op.create_table(
        "review_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_notes_review_id"), ["review_id"], unique=False)

    op.create_table(
        "review_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("difficulty", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("achieved", _enum("target_progress", "achieved", "not_achieved", "progress"), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("next_step", _enum("next_step", *NEW_TYPES["next_step"]), nullable=True),
        sa.Column("provision_who", sa.Text(), nullable=True),
        sa.Column("provision_what", sa.Text(), nullable=True),
        sa.Column("provision_when", sa.Text(), nullable=True),
        sa.Column("provision_how_often", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["targets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id", "kind", "position", name="uq_review_target"),
    )
    with op.batch_alter_table("review_targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_targets_review_id"), ["review_id"], unique=False)

    with op.batch_alter_table("chat_identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("push_address", sa.Text(), nullable=True))

    with op.batch_alter_table("document_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), server_default="plan", nullable=False))
        batch_op.add_column(sa.Column("pupil_id", sa.Integer(), nullable=True))
        batch_op.alter_column("plan_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_foreign_key("fk_document_links_pupil", "pupils", ["pupil_id"], ["id"])

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status", _enum("review_status", *NEW_TYPES["review_status"]), server_default="booked", nullable=False
            )
        )
        batch_op.add_column(sa.Column("new_information", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("decision", _enum("review_decision", *NEW_TYPES["review_decision"]), nullable=True)
        )
        batch_op.add_column(sa.Column("next_review_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("draft_state", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("started_by_staff_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("updated_by_staff_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("updated_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False)
        )
        batch_op.create_index(
            "uq_one_review_in_progress",
            ["pupil_id"],
            unique=True,
            sqlite_where=IN_PROGRESS_ONLY,
            postgresql_where=IN_PROGRESS_ONLY,
        )
        batch_op.create_foreign_key("fk_reviews_started_by_staff", "staff", ["started_by_staff_id"], ["id"])
        batch_op.create_foreign_key("fk_reviews_updated_by_staff", "staff", ["updated_by_staff_id"], ["id"])
    op.execute("UPDATE reviews SET status = 'held' WHERE held_on IS NOT NULL")


def downgrade() -> None:
    # Evidence links open no single plan, so the older schema cannot hold them.
    op.execute("DELETE FROM document_links WHERE plan_id IS NULL")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_constraint("fk_reviews_updated_by_staff", type_="foreignkey")
        batch_op.drop_constraint("fk_reviews_started_by_staff", type_="foreignkey")
        batch_op.drop_index(
            "uq_one_review_in_progress", sqlite_where=IN_PROGRESS_ONLY, postgresql_where=IN_PROGRESS_ONLY
        )
        batch_op.drop_column("updated_at")
        batch_op.drop_column("updated_by_staff_id")
        batch_op.drop_column("started_by_staff_id")
        batch_op.drop_column("revision")
        batch_op.drop_column("draft_state")
        batch_op.drop_column("next_review_date")
        batch_op.drop_column("decision")
        batch_op.drop_column("new_information")
        batch_op.drop_column("status")

    with op.batch_alter_table("document_links", schema=None) as batch_op:
        batch_op.drop_constraint("fk_document_links_pupil", type_="foreignkey")
        batch_op.alter_column("plan_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("pupil_id")
        batch_op.drop_column("kind")

    with op.batch_alter_table("chat_identities", schema=None) as batch_op:
        batch_op.drop_column("push_address")

    with op.batch_alter_table("review_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_targets_review_id"))

    op.drop_table("review_targets")
    with op.batch_alter_table("review_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_notes_review_id"))

    op.drop_table("review_notes")
    with op.batch_alter_table("review_edits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_edits_review_id"))

    op.drop_table("review_edits")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminders_staff_id"))

    op.drop_table("reminders")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in NEW_TYPES:
            postgresql.ENUM(name=name).drop(bind, checkfirst=True)
