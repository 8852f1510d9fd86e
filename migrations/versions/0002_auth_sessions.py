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


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1',
                                      nullable=False))
        batch_op.create_check_constraint('ck_users_session_version', 'session_version >= 1')

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
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('ck_users_session_version', type_='check')
        batch_op.drop_column('session_version')
