"""proctoring evidence apart from the page's claims; exam threshold and show_points

The attempt keeps what the proctoring server said (first delivery, its confirmation of
the start, its status API's last answer) apart from what the page reported (its start
and stop reports). Attempts that already ran keep NULL evidence: nothing is invented.
The page's old `started` report becomes `page_started_at` (that is what it was).

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-01 08:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('threshold', sa.Integer(), server_default='50', nullable=False))
        batch_op.add_column(sa.Column('show_points', sa.String(length=16), server_default='after_close', nullable=False))
        batch_op.create_check_constraint('ck_exams_threshold', 'threshold >= 0 AND threshold <= 100')
        batch_op.create_check_constraint(
            'ck_exams_show_points', "show_points IN ('after_submission', 'after_close', 'never')")

    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vendor_first_delivery_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('vendor_started_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('vendor_status', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('vendor_status_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('page_started_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('page_stopped_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE attempts SET page_started_at = started_at WHERE started_at IS NOT NULL")
    # A delivery already linked to an attempt is evidence from the proctoring server.
    op.execute("UPDATE attempts SET vendor_first_delivery_at = (SELECT r.created_at FROM "
               "proctoring_results r WHERE r.attempt_id = attempts.id) WHERE EXISTS (SELECT 1 "
               "FROM proctoring_results r WHERE r.attempt_id = attempts.id)")


def downgrade():
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_column('page_stopped_at')
        batch_op.drop_column('page_started_at')
        batch_op.drop_column('vendor_status_at')
        batch_op.drop_column('vendor_status')
        batch_op.drop_column('vendor_started_at')
        batch_op.drop_column('vendor_first_delivery_at')

    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.drop_constraint('ck_exams_show_points', type_='check')
        batch_op.drop_constraint('ck_exams_threshold', type_='check')
        batch_op.drop_column('show_points')
        batch_op.drop_column('threshold')
