"""review: resubmission time and the previous revision's snapshot

Revision ID: 0006_review_ux
Revises: 0003_schedule_state
Create Date: 2026-12-03 08:30:00

Warnings keep their grade in the existing visit_warnings.severity column (1 notice, 2 warning,
3 serious), now set by how far the evidence is past its threshold; visits.warning_severity keeps
the highest, which the review queue sorts by. The warnings already stored are graded here from their
evidence, and their message becomes the evidence's Chinese sentence, in batches.
"""
from alembic import op
import sqlalchemy as sa

import models.types


revision = '0006_review_ux'
down_revision = '0003_schedule_state'
branch_labels = None
depends_on = None


BATCH = 1000


def upgrade():
    op.add_column('visits', sa.Column('resubmitted_at', models.types.UTCDateTime(timezone=True), nullable=True))
    op.add_column('review_events', sa.Column('snapshot', sa.JSON(), nullable=True))
    _grade_stored_warnings()


def _grade_stored_warnings():
    # The one grading rule and sentence templates of the app, so stored and new warnings read alike.
    from services.visits.authenticity import MAX_MESSAGE_LENGTH, grade_warning
    from services.visits.evidence import evidence_sentence

    bind = op.get_bind()
    warnings = sa.table('visit_warnings', sa.column('id', sa.Integer), sa.column('code', sa.String),
                        sa.column('severity', sa.Integer), sa.column('message', sa.String),
                        sa.column('evidence', sa.JSON))
    last_id = 0
    while True:
        rows = bind.execute(sa.select(warnings.c.id, warnings.c.code, warnings.c.evidence)
                            .where(warnings.c.id > last_id).order_by(warnings.c.id).limit(BATCH)).all()
        if not rows:
            break
        bind.execute(
            warnings.update().where(warnings.c.id == sa.bindparam('warning_id'))
            .values(severity=sa.bindparam('new_severity'), message=sa.bindparam('new_message')),
            [{'warning_id': row.id, 'new_severity': grade_warning(row.code, row.evidence or {}),
              'new_message': evidence_sentence(row.code, row.evidence or {})[:MAX_MESSAGE_LENGTH]} for row in rows],
        )
        last_id = rows[-1].id
    op.execute(
        "UPDATE visits SET warning_severity = COALESCE("
        "(SELECT MAX(severity) FROM visit_warnings WHERE visit_warnings.visit_id = visits.id), 0)"
        " WHERE warning_count > 0"
    )


def downgrade():
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy of `visits` would drop the old table, and
    # SQLite's ON DELETE CASCADE would take every visit's warnings with it.
    op.drop_column('review_events', 'snapshot')
    op.drop_column('visits', 'resubmitted_at')
