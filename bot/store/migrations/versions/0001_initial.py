"""schools, pupils, plans, reviews, identities, audit

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:03:55.419471
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "code_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("identity_digest", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("code_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_code_attempts_attempted_at"), ["attempted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_code_attempts_identity_digest"), ["identity_digest"], unique=False)

    op.create_table(
        "parents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "schools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("council", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.Enum("senco", "teacher", "admin", name="staff_role"), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_school_id"), ["school_id"], unique=False)

    op.create_table(
        "chat_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("identity_digest", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("(staff_id IS NULL) <> (parent_id IS NULL)", name="ck_identity_one_person"),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["parents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "identity_digest", name="uq_chat_identity"),
    )
    op.create_table(
        "pupils",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("year_group", sa.String(length=40), nullable=False),
        sa.Column("form", sa.String(length=40), nullable=True),
        sa.Column("class_teacher_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_teacher_id"],
            ["staff.id"],
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pupils", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pupils_school_id"), ["school_id"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=True),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pupil_id"],
            ["pupils.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_pupil_id"), ["pupil_id"], unique=False)

    op.create_table(
        "link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("pupil_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("(staff_id IS NULL) <> (parent_id IS NULL)", name="ck_code_one_person"),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["parents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"],
            ["pupils.id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_digest"),
    )
    op.create_table(
        "parent_pupils",
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("relationship_to_pupil", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["parents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"],
            ["pupils.id"],
        ),
        sa.PrimaryKeyConstraint("parent_id", "pupil_id"),
    )
    op.create_table(
        "support_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum("draft", "agreed", "superseded", name="plan_status"), nullable=False),
        sa.Column("level_of_need", sa.Enum("sen_support", "ehcp", name="level_of_need"), nullable=True),
        sa.Column(
            "main_area_of_need",
            sa.Enum(
                "cognition_learning",
                "communication_interaction",
                "sensory_physical",
                "semh",
                "medical",
                name="area_of_need",
            ),
            nullable=True,
        ),
        sa.Column("cluster_funding", sa.String(length=20), nullable=True),
        sa.Column("cluster_funding_details", sa.Text(), nullable=True),
        sa.Column("cluster_funding_requested_on", sa.Date(), nullable=True),
        sa.Column("professionals_involved", sa.Text(), nullable=True),
        sa.Column("previous_attainment", sa.Text(), nullable=True),
        sa.Column("previous_progress", sa.Text(), nullable=True),
        sa.Column("current_attainment", sa.Text(), nullable=True),
        sa.Column("expected_attainment", sa.Text(), nullable=True),
        sa.Column("current_progress", sa.Text(), nullable=True),
        sa.Column("interventions", sa.Text(), nullable=True),
        sa.Column("how_needs_identified", sa.Text(), nullable=True),
        sa.Column("parent_new_information", sa.Text(), nullable=True),
        sa.Column("strengths", sa.Text(), nullable=True),
        sa.Column("finding_things_hard_when", sa.Text(), nullable=True),
        sa.Column("how_i_like_support", sa.Text(), nullable=True),
        sa.Column("parent_role", sa.Text(), nullable=True),
        sa.Column("child_role", sa.Text(), nullable=True),
        sa.Column("class_teacher_role", sa.Text(), nullable=True),
        sa.Column("agreed_by_senco_name", sa.String(length=200), nullable=True),
        sa.Column("agreed_on", sa.Date(), nullable=True),
        sa.Column("review_date", sa.Date(), nullable=True),
        sa.Column("parents_notified_on", sa.Date(), nullable=True),
        sa.Column("created_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_staff_id"],
            ["staff.id"],
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"],
            ["pupils.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pupil_id", "version", name="uq_plan_version"),
    )
    with op.batch_alter_table("support_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_plans_pupil_id"), ["pupil_id"], unique=False)

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_for", sa.Date(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("attendees", sa.Text(), nullable=True),
        sa.Column("outcomes", sa.Text(), nullable=True),
        sa.Column("parent_views", sa.Text(), nullable=True),
        sa.Column("pupil_views", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["support_plans.id"],
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"],
            ["pupils.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_pupil_id"), ["pupil_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reviews_scheduled_for"), ["scheduled_for"], unique=False)

    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("difficulty", sa.Text(), nullable=False),
        sa.Column("provision_who", sa.Text(), nullable=True),
        sa.Column("provision_what", sa.Text(), nullable=True),
        sa.Column("provision_when", sa.Text(), nullable=True),
        sa.Column("provision_how_often", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("progress", sa.Enum("achieved", "not_achieved", "progress", name="target_progress"), nullable=True),
        sa.Column("progress_notes", sa.Text(), nullable=True),
        sa.Column("next_steps", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["support_plans.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_targets_plan_id"), ["plan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_targets_plan_id"))

    op.drop_table("targets")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviews_scheduled_for"))
        batch_op.drop_index(batch_op.f("ix_reviews_pupil_id"))

    op.drop_table("reviews")
    with op.batch_alter_table("support_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_plans_pupil_id"))

    op.drop_table("support_plans")
    op.drop_table("parent_pupils")
    op.drop_table("link_codes")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_pupil_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))

    op.drop_table("audit_events")
    with op.batch_alter_table("pupils", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pupils_school_id"))

    op.drop_table("pupils")
    op.drop_table("chat_identities")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_school_id"))

    op.drop_table("staff")
    op.drop_table("schools")
    op.drop_table("parents")
    with op.batch_alter_table("code_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_attempts_identity_digest"))
        batch_op.drop_index(batch_op.f("ix_code_attempts_attempted_at"))

    op.drop_table("code_attempts")
    for enum_type in ("staff_role", "plan_status", "level_of_need", "area_of_need", "target_progress"):
        sa.Enum(name=enum_type).drop(op.get_bind(), checkfirst=True)
