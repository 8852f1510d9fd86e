"""auth sessions: a session version per user, failed logins per username

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 08:40:00.000000

Existing sessions hold a bare user id, which the new user loader does not accept: every
user logs in once more after this upgrade.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    # SQLite: a plain ADD COLUMN with its own CHECK. A batch rebuild of `users` (with
    # foreign keys on) would cascade-delete every attempt of every user.
    if _sqlite():
        op.execute("ALTER TABLE users ADD COLUMN session_version INTEGER DEFAULT '1' NOT NULL "
                   "CONSTRAINT ck_users_session_version CHECK (session_version >= 1)")
    else:
        op.add_column('users', sa.Column('session_version', sa.Integer(), server_default='1',
                                         nullable=False))
        op.create_check_constraint('ck_users_session_version', 'users', 'session_version >= 1')

    op.create_table('login_throttles',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.CheckConstraint('failures >= 0', name='ck_login_throttles_failures'),
    sa.PrimaryKeyConstraint('username')
    )


def downgrade():
    op.drop_table('login_throttles')
    # DROP COLUMN (SQLite 3.35+) also drops the column's own CHECK: no rebuild either.
    if not _sqlite():
        op.drop_constraint('ck_users_session_version', 'users', type_='check')
    op.execute("ALTER TABLE users DROP COLUMN session_version")
