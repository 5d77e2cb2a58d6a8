"""linked chats remember when they were last used, so an idle link can expire

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(), nullable=True))
    # A link made before this version was last known to be used when it was made.
    op.execute("UPDATE chat_identities SET last_used_at = linked_at")
    with op.batch_alter_table("chat_identities", schema=None) as batch_op:
        batch_op.alter_column("last_used_at", existing_type=sa.DateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_identities", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
