"""Required visit intervals: category defaults, admin overrides, the strictest category, risk tiers."""

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent, CategorySchedule
from models.enums import BENEFICIARY_CATEGORIES
from services.errors import Forbidden, Invalid, NotFound
from services.reporting.schedules import (
    category_intervals,
    ensure_category_schedules,
    required_interval_days,
    set_category_interval,
)
from tests.factories import make_admin, make_supervisor


def test_defaults_follow_the_issue(app):
    intervals = category_intervals()
    assert {code for code, days in intervals.items() if days == 30} == {
        "tekun", "unsupported_child", "left_behind_child", "child_in_difficulty", "elderly_alone"}
    assert intervals["dibao"] == intervals["other"] == 91


def test_an_admin_row_overrides_the_default(app):
    db.session.add(CategorySchedule(category="dibao", interval_days=45))
    db.session.commit()
    assert category_intervals()["dibao"] == 45


def test_the_strictest_category_and_the_risk_tier_win(app):
    intervals = category_intervals()
    assert required_interval_days(["dibao", "elderly_alone"], None, intervals) == 30
    assert required_interval_days(["dibao"], "high", intervals) == 7
    # A looser tier never loosens a category's schedule.
    assert required_interval_days(["tekun"], "general", intervals) == 30
    assert required_interval_days([], None, intervals) == 91


def test_ensure_category_schedules_seeds_every_category_once(app):
    db.session.add(CategorySchedule(category="dibao", interval_days=45))
    db.session.commit()
    ensure_category_schedules()
    rows = {row.category: row.interval_days for row in db.session.scalars(select(CategorySchedule))}
    assert set(rows) == set(BENEFICIARY_CATEGORIES)
    assert rows["dibao"] == 45 and rows["tekun"] == 30
    ensure_category_schedules()
    assert len(db.session.scalars(select(CategorySchedule)).all()) == len(BENEFICIARY_CATEGORIES)


def test_admin_changes_an_interval_and_it_is_audited(app):
    admin = make_admin()
    set_category_interval("dibao", 60, admin)
    assert category_intervals()["dibao"] == 60
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "schedule_changed"))
    assert event.actor_id == admin.id
    assert event.details == {"category": "dibao", "before": 91, "after": 60}


@pytest.mark.parametrize("days", [0, 367, "30"])
def test_out_of_range_intervals_are_refused_and_nothing_changes(app, days):
    with pytest.raises(Invalid):
        set_category_interval("dibao", days, make_admin())
    assert category_intervals()["dibao"] == 91


def test_only_admins_change_schedules_and_only_known_categories(app):
    with pytest.raises(Forbidden):
        set_category_interval("dibao", 60, make_supervisor())
    with pytest.raises(NotFound):
        set_category_interval("nope", 60, make_admin())
