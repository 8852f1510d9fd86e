"""proctoring evidence apart from the page's claims; exam threshold and show_points

The attempt keeps what the proctoring server said (first delivery, its confirmation of
the start, its status API's last answer) apart from what the page reported (its start
and stop reports). Attempts that already ran keep NULL evidence: nothing is invented.
The page's old `started` report becomes `page_started_at` (that is what it was).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 08:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


# SQLite cannot add a CHECK constraint to a table without rebuilding it, and a rebuild
# of `exams` (DROP TABLE with foreign keys on) would cascade-delete every attempt. So on
# SQLite the checks go in as column constraints of ADD COLUMN, which needs no rebuild.
EXAM_COLUMNS = (
    ("threshold", "INTEGER DEFAULT '50' NOT NULL",
     "ck_exams_threshold", "threshold >= 0 AND threshold <= 100"),
    ("show_points", "VARCHAR(16) DEFAULT 'after_close' NOT NULL",
     "ck_exams_show_points", "show_points IN ('after_submission', 'after_close', 'never')"),
)
ATTEMPT_COLUMNS = (
    ("vendor_first_delivery_at", sa.DateTime()),
    ("vendor_started_at", sa.DateTime()),
    ("vendor_status", sa.String(length=32)),
    ("vendor_status_at", sa.DateTime()),
    ("page_started_at", sa.DateTime()),
    ("page_stopped_at", sa.DateTime()),
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    if _sqlite():
        for name, definition, check_name, check in EXAM_COLUMNS:
            op.execute(f"ALTER TABLE exams ADD COLUMN {name} {definition} "
                       f"CONSTRAINT {check_name} CHECK ({check})")
    else:
        op.add_column('exams', sa.Column('threshold', sa.Integer(), server_default='50', nullable=False))
        op.add_column('exams', sa.Column('show_points', sa.String(length=16), server_default='after_close', nullable=False))
        for _, _, check_name, check in EXAM_COLUMNS:
            op.create_check_constraint(check_name, 'exams', check)
    for name, type_ in ATTEMPT_COLUMNS:  # plain ADD COLUMN everywhere: no rebuild
        op.add_column('attempts', sa.Column(name, type_, nullable=True))
    op.execute("UPDATE attempts SET page_started_at = started_at WHERE started_at IS NOT NULL")
    # A delivery already linked to an attempt is evidence from the proctoring server.
    op.execute("UPDATE attempts SET vendor_first_delivery_at = (SELECT r.created_at FROM "
               "proctoring_results r WHERE r.attempt_id = attempts.id) WHERE EXISTS (SELECT 1 "
               "FROM proctoring_results r WHERE r.attempt_id = attempts.id)")


def downgrade():
    # DROP COLUMN (SQLite 3.35+) also drops a column's own CHECK: no rebuild either.
    for name, _ in reversed(ATTEMPT_COLUMNS):
        op.execute(f"ALTER TABLE attempts DROP COLUMN {name}")
    for name, _, check_name, _ in reversed(EXAM_COLUMNS):
        if not _sqlite():
            op.drop_constraint(check_name, 'exams', type_='check')
        op.execute(f"ALTER TABLE exams DROP COLUMN {name}")
