"""schedule state on each person's row; indexes for the queue, the due lists and approved visits

Revision ID: 0003_schedule_state
Revises: 0001
Create Date: 2026-12-03 08:30:00

The backfill is written out here (not imported from services/) so the migration keeps doing what it
did when it was written; it computes what services.reporting.schedule_state keeps, with the defaults of
that time for categories without an admin row. `flask --app wsgi schedules rebuild` recomputes it later.
"""
from alembic import context, op
import sqlalchemy as sa

import models.types


revision = '0003_schedule_state'
down_revision = '0001'
branch_labels = None
depends_on = None

# Days per category when no category_schedules row overrides it, and per risk tier, as of this revision.
CATEGORY_DEFAULT_DAYS = {
    'dibao': 91, 'tekun': 30, 'dibao_edge': 91, 'orphan': 91, 'unsupported_child': 30, 'left_behind_child': 30,
    'child_in_difficulty': 30, 'left_behind_elderly': 91, 'elderly_alone': 30, 'disabled': 91, 'other': 91,
}
RISK_TIER_DAYS = {'high': 7, 'key': 30, 'general': 91}
COUNTING_KINDS = ('home_visit', 'case_service', 'care_call')
SUBMITTED = sa.text("status = 'submitted'")
APPROVED = sa.text("status = 'approved'")
RETURNED = sa.text("status = 'returned'")
QUEUE_RANK = sa.text('(-(warning_severity * 1000 + warning_count))')


def _time_zone() -> tuple[str, int]:
    """The configured zone (PostgreSQL) and its UTC offset in minutes (SQLite) — the app's, when run by flask."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    name = 'Asia/Shanghai'
    try:
        from flask import current_app
        name = current_app.config.get('TIMEZONE', name)
    except RuntimeError:
        pass
    offset = datetime.now(ZoneInfo(name)).utcoffset()
    return name, int(offset.total_seconds() // 60)


def _local_day(column: str, dialect: str) -> str:
    zone, minutes = _time_zone()
    if dialect == 'sqlite':
        return f"CAST(julianday({column}, '{minutes:+d} minutes') - 2440587.5 AS INTEGER)"
    return f"(CAST(({column} AT TIME ZONE '{zone}') AS DATE) - DATE '1970-01-01')"


def upgrade():
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule_interval_days', sa.Integer(), server_default='91', nullable=False))
        batch_op.add_column(sa.Column('last_approved_visit_at', models.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('next_due_day', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_beneficiaries_station_status_due', ['station_id', 'status', 'next_due_day'],
                              unique=False)
        batch_op.create_index('ix_beneficiaries_status_due', ['status', 'next_due_day'], unique=False)

    with op.batch_alter_table('visits', schema=None) as batch_op:
        # The queue's order as one ascending row value; the rank is spelled as models.visit.VISIT_QUEUE_RANK.
        batch_op.create_index('ix_visits_submitted_queue', [QUEUE_RANK, 'received_at', 'id'], unique=False,
                              postgresql_where=SUBMITTED, sqlite_where=SUBMITTED)
        batch_op.create_index('ix_visits_queue', [QUEUE_RANK, 'received_at', 'id'], unique=False)
        batch_op.create_index('ix_visits_submitted_station_queue', ['station_id', QUEUE_RANK, 'received_at', 'id'],
                              unique=False, postgresql_where=SUBMITTED, sqlite_where=SUBMITTED)
        batch_op.create_index('ix_visits_returned_worker', ['worker_id'], unique=False,
                              postgresql_where=RETURNED, sqlite_where=RETURNED)
        batch_op.create_index('ix_visits_submitted_beneficiary', ['beneficiary_id'], unique=False,
                              postgresql_where=SUBMITTED, sqlite_where=SUBMITTED)
        batch_op.create_index('ix_visits_approved_beneficiary_started', ['beneficiary_id', 'started_at'],
                              unique=False, postgresql_where=APPROVED, sqlite_where=APPROVED)
        batch_op.create_index('ix_visits_approved_station_started', ['station_id', 'started_at'], unique=False,
                              postgresql_where=APPROVED, sqlite_where=APPROVED)
        batch_op.create_index('ix_visits_approved_reviewed', ['reviewed_at'], unique=False,
                              postgresql_where=APPROVED, sqlite_where=APPROVED)

    _backfill(context.get_context().dialect.name)


def _backfill(dialect: str) -> None:
    defaults = ' '.join(f"WHEN '{code}' THEN {days}" for code, days in CATEGORY_DEFAULT_DAYS.items())
    category_days = (f"COALESCE((SELECT interval_days FROM category_schedules cs WHERE cs.category = bc.category),"
                     f" CASE bc.category {defaults} ELSE {CATEGORY_DEFAULT_DAYS['other']} END)")
    fallback = (f"COALESCE((SELECT interval_days FROM category_schedules WHERE category = 'other'),"
                f" {CATEGORY_DEFAULT_DAYS['other']})")
    kinds = ', '.join(f"'{kind}'" for kind in COUNTING_KINDS)
    op.execute(
        "UPDATE beneficiaries SET "
        f"schedule_interval_days = COALESCE((SELECT min({category_days}) FROM beneficiary_categories bc"
        f" WHERE bc.beneficiary_id = beneficiaries.id), {fallback}), "
        "last_approved_visit_at = (SELECT max(v.started_at) FROM visits v WHERE v.beneficiary_id = beneficiaries.id"
        f" AND v.status = 'approved' AND v.kind IN ({kinds}))"
    )
    tiers = ' '.join(f"WHEN risk_tier = '{tier}' AND {days} < schedule_interval_days THEN {days}"
                     for tier, days in RISK_TIER_DAYS.items())
    interval = f"(CASE {tiers} ELSE schedule_interval_days END)"
    op.execute(
        f"UPDATE beneficiaries SET schedule_interval_days = {interval}, "
        f"next_due_day = COALESCE({_local_day('last_approved_visit_at', dialect)} + {interval},"
        f" {_local_day('created_at', dialect)})"
    )


def downgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        for name in ('ix_visits_approved_reviewed', 'ix_visits_approved_station_started',
                     'ix_visits_approved_beneficiary_started', 'ix_visits_submitted_beneficiary', 'ix_visits_returned_worker',
                     'ix_visits_submitted_station_queue', 'ix_visits_submitted_queue', 'ix_visits_queue'):
            batch_op.drop_index(name)
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.drop_index('ix_beneficiaries_status_due')
        batch_op.drop_index('ix_beneficiaries_station_status_due')
        batch_op.drop_column('next_due_day')
        batch_op.drop_column('last_approved_visit_at')
        batch_op.drop_column('schedule_interval_days')
