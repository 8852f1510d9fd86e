"""instructor actions: allowances, reopened attempts, review decisions, the staff log

- `attempts` gains `reopened_from_id` (the attempt a reopened one replaces; unique: one
  successor each) and `superseded_at` (set on the replaced one). UNIQUE(exam_id, user_id)
  becomes a partial unique index over the current attempts (`superseded_at IS NULL`),
  so a student can have several attempts of an exam but only one current.
- New tables: `allowances`, `review_decisions`, `staff_actions` (append-only).

SQLite cannot drop a table constraint: `attempts` is rebuilt by SQLite's own recipe
(https://sqlite.org/lang_altertable.html#otheralter) with foreign keys OFF, so dropping
the old table cascades nothing (answers, results, samples and jobs reference it), the
copy, drop, rename and indexes in one transaction, then `PRAGMA foreign_key_check`.
The downgrade refuses while reopened attempts exist (the old constraint cannot hold).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

COLUMNS = ("id, exam_id, user_id, identifier, state, vendor, created_at, started_at, "
           "deadline_at, closed_at, close_reason, score, max_score, updated_at, "
           "vendor_first_delivery_at, vendor_started_at, vendor_status, vendor_status_at, "
           "page_started_at, page_stopped_at")
_BODY = """
	id INTEGER NOT NULL,
	exam_id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	identifier VARCHAR(64) NOT NULL,
	state VARCHAR(16) NOT NULL,
	vendor VARCHAR(16) NOT NULL,
	created_at DATETIME NOT NULL,
	started_at DATETIME,
	deadline_at DATETIME,
	closed_at DATETIME,
	close_reason VARCHAR(200),
	score DOUBLE,
	max_score DOUBLE,
	updated_at DATETIME NOT NULL,
	vendor_first_delivery_at DATETIME,
	vendor_started_at DATETIME,
	vendor_status VARCHAR(32),
	vendor_status_at DATETIME,
	page_started_at DATETIME,
	page_stopped_at DATETIME,{extra_columns}
	PRIMARY KEY (id),
	CONSTRAINT ck_attempts_state CHECK (state IN ('created', 'in_progress', 'submitted', 'terminated', 'expired')),
	FOREIGN KEY(exam_id) REFERENCES exams (id) ON DELETE CASCADE,
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,{extra_constraints}
	UNIQUE (identifier)
"""
NEW_ATTEMPTS = _BODY.format(
    extra_columns="\n\treopened_from_id INTEGER,\n\tsuperseded_at DATETIME,",
    extra_constraints="\n\tFOREIGN KEY(reopened_from_id) REFERENCES attempts (id) ON DELETE SET NULL,"
                      "\n\tUNIQUE (reopened_from_id),")
OLD_ATTEMPTS = _BODY.format(
    extra_columns="",
    extra_constraints="\n\tCONSTRAINT uq_attempts_exam_user UNIQUE (exam_id, user_id),")
INDEXES = (
    "CREATE INDEX ix_attempts_exam_id ON attempts (exam_id)",
    "CREATE INDEX ix_attempts_state ON attempts (state)",
    "CREATE INDEX ix_attempts_updated_at ON attempts (updated_at)",
    "CREATE INDEX ix_attempts_user_id ON attempts (user_id)",
    "CREATE INDEX ix_attempts_state_deadline ON attempts (state, deadline_at)",
)
CURRENT_INDEX = ("CREATE UNIQUE INDEX uq_attempts_current ON attempts (exam_id, user_id) "
                 "WHERE superseded_at IS NULL")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _rebuild_sqlite_attempts(body: str, indexes: tuple[str, ...]) -> None:
    """SQLite's 12-step table change: foreign keys off (only possible outside a
    transaction), the new table, copy, drop, rename, indexes, check, foreign keys on."""
    raw = op.get_bind().connection.dbapi_connection
    if raw.in_transaction:  # alembic_version's update of an earlier step
        raw.commit()
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        raw.execute("DROP TABLE IF EXISTS _attempts_new")
        raw.execute(f"CREATE TABLE _attempts_new ({body})")
        raw.execute("BEGIN")
        raw.execute(f"INSERT INTO _attempts_new ({COLUMNS}) SELECT {COLUMNS} FROM attempts")
        raw.execute("DROP TABLE attempts")
        raw.execute("ALTER TABLE _attempts_new RENAME TO attempts")
        for statement in indexes:
            raw.execute(statement)
        problems = raw.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"foreign keys broken by the rebuild of attempts: {problems[:5]}")
        raw.commit()
    except Exception:
        raw.rollback()
        raise
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def upgrade():
    if _sqlite():
        _rebuild_sqlite_attempts(NEW_ATTEMPTS, INDEXES + (CURRENT_INDEX,))
    else:
        op.execute("ALTER TABLE attempts ADD COLUMN reopened_from_id INTEGER UNIQUE "
                   "REFERENCES attempts (id) ON DELETE SET NULL")
        op.add_column('attempts', sa.Column('superseded_at', sa.DateTime(), nullable=True))
        op.drop_constraint('uq_attempts_exam_user', 'attempts', type_='unique')
        op.execute(CURRENT_INDEX)
    op.create_table(
        'allowances',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('exam_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('extra_minutes', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_by_name', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('extra_minutes > 0 AND extra_minutes <= 1440',
                           name='ck_allowances_minutes'),
        sa.CheckConstraint('length(reason) > 0', name='ck_allowances_reason'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_allowances_exam_user', 'allowances', ['exam_id', 'user_id'])
    op.create_table(
        'review_decisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('attempt_id', sa.Integer(), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_by_name', sa.String(length=200), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=False),
        sa.Column('verdict_status', sa.String(length=16), nullable=True),
        sa.CheckConstraint("decision IN ('confirm', 'accept', 'reject')",
                           name='ck_review_decisions_decision'),
        sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('attempt_id'),
    )
    op.create_table(
        'staff_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_name', sa.String(length=200), nullable=False),
        sa.Column('exam_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('attempt_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.CheckConstraint("kind IN ('allowance_added', 'allowance_removed', 'reopened', "
                           "'decision')", name='ck_staff_actions_kind'),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_staff_actions_attempt_id', 'staff_actions', ['attempt_id'])
    op.create_index('ix_staff_actions_exam_user', 'staff_actions', ['exam_id', 'user_id'])


def downgrade():
    reopened = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM attempts WHERE superseded_at IS NOT NULL")).scalar()
    if reopened:
        raise RuntimeError(
            f"{reopened} attempt(s) were reopened: UNIQUE(exam_id, user_id) cannot hold "
            "again. Delete the superseded attempts first (this loses their answers and "
            "results) if the downgrade is really wanted.")
    op.drop_table('staff_actions')
    op.drop_table('review_decisions')
    op.drop_table('allowances')
    if _sqlite():
        _rebuild_sqlite_attempts(OLD_ATTEMPTS, INDEXES)
    else:
        op.execute("DROP INDEX uq_attempts_current")
        op.create_unique_constraint('uq_attempts_exam_user', 'attempts', ['exam_id', 'user_id'])
        op.drop_column('attempts', 'superseded_at')
        op.drop_column('attempts', 'reopened_from_id')
