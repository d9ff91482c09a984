"""review: resubmission time and the previous revision's snapshot

Revision ID: 0006_review_ux
Revises: 0001
Create Date: 2026-12-03 08:30:00

Warnings keep their grade in the existing visit_warnings.severity column (1 notice, 2 warning,
3 serious), now set by how far the evidence is past its threshold; visits.warning_severity keeps
the highest, which the review queue sorts by.
"""
from alembic import op
import sqlalchemy as sa

import models.types


revision = '0006_review_ux'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resubmitted_at', models.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('review_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snapshot', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('review_events', schema=None) as batch_op:
        batch_op.drop_column('snapshot')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_column('resubmitted_at')
