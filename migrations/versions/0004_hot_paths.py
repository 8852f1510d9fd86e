"""hot paths: an index for the overdue check

Every dashboard request (and the unchanged poll every 5 s) first closes the running
attempts whose deadline passed: `state = 'in_progress' AND deadline_at <= now`. With
only the index on `state`, that reads every running attempt (4,000 on exam day, 2.6 ms
of a poll here); on (state, deadline_at) it reads only the overdue ones.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_attempts_state_deadline', 'attempts', ['state', 'deadline_at'])


def downgrade():
    op.drop_index('ix_attempts_state_deadline', table_name='attempts')
