"""Reviewing visits: the queue, the record page's facts, and approve / reject / return / reopen, single or bulk.

The API and the admin both call these functions. Who may act is decided by services.permissions and
which transitions exist by services.visits.workflow.transition(), so neither rule is written twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from math import ceil

from flask import current_app
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from extensions import db
from models import Beneficiary, ReviewEvent, Station, User, Visit, VisitWarning
from models.enums import Role, VisitStatus
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.geo import to_gcj02
from services.localtime import time_zone
from services.permissions import ensure_can_review, get_visit_for, scope_users, scope_visits, station_ids_in_scope
from services.visits.workflow import transition

MAX_BULK_VISITS = 500
MAX_FILTER_CHOICES = 300
DEFAULT_QUEUE_STATUS = VisitStatus.SUBMITTED

# Why a visit of a bulk approval was left alone, in the words the reviewer reads.
SKIP_REASONS = {
    "has_warnings": "有预警",
    "not_submitted": "不是待审核状态",
    "own_visit": "本人参与的走访",
    "not_found": "不存在或不在管辖范围",
    "changed_meanwhile": "已被他人处理",
}


@dataclass(frozen=True)
class QueueFilters:
    """What the reviewer narrowed the queue to; None means no narrowing on that field."""

    station_id: int | None = None
    worker_id: int | None = None
    kind: str | None = None
    status: str | None = DEFAULT_QUEUE_STATUS
    received_from: date | None = None
    received_to: date | None = None
    has_warnings: bool | None = None
    warning_code: str | None = None
    beneficiary_name: str | None = None


@dataclass
class QueuePage:
    """One page of the review queue."""

    items: list[Visit]
    total: int
    page: int
    page_size: int
    # What the station and worker filters offer; None when there are too many to list (a number is typed instead).
    station_choices: list[Station] | None = None
    worker_choices: list[User] | None = None

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.page_size))


@dataclass
class BulkReport:
    """The outcome of a bulk approval: which visits were approved and how many were skipped, by reason."""

    approved: list[int] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        """One line for the reviewer, e.g. 已通过 47 条，跳过 3 条（有预警 3 条）."""
        text = f"已通过 {len(self.approved)} 条"
        if self.skipped:
            reasons = "，".join(f"{SKIP_REASONS[reason]} {count} 条" for reason, count in sorted(self.skipped.items()))
            text += f"，跳过 {self.skipped_total} 条（{reasons}）"
        return text


@dataclass(frozen=True)
class MapPoint:
    """A point to draw on the record page's map, already in the tiles' coordinate system.

    kind is checkin, home or photo (number: the photo's position on the record, from 1); the page names it.
    """

    kind: str
    lat: float
    lon: float
    radius_m: float | None = None
    number: int | None = None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "lat": self.lat, "lon": self.lon, "radius_m": self.radius_m}


@dataclass
class ReviewRecord:
    """Everything the record page shows about one visit."""

    visit: Visit
    previous_visit: Visit | None
    next_visit: Visit | None
    map_points: list[MapPoint]
    # Per warning id, the other visits its evidence points at that the viewer may open.
    warning_links: dict[int, list[int]]


def _start_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=time_zone()).astimezone(UTC)


def review_queue_query(user: User, filters: QueueFilters | None = None) -> Select:
    """The scoped SELECT of visits for the review queue: warned first (severity, then count), then oldest received.

    Dates are whole days in the configured local time zone (Asia/Shanghai), the end day included.
    """
    filters = filters or QueueFilters()
    statement = scope_visits(select(Visit), user)
    if filters.status:
        statement = statement.where(Visit.status == filters.status)
    if filters.station_id is not None:
        statement = statement.where(Visit.station_id == filters.station_id)
    if filters.worker_id is not None:
        statement = statement.where(Visit.worker_id == filters.worker_id)
    if filters.kind:
        statement = statement.where(Visit.kind == filters.kind)
    if filters.received_from is not None:
        statement = statement.where(Visit.received_at >= _start_of_local_day(filters.received_from))
    if filters.received_to is not None:
        statement = statement.where(Visit.received_at < _start_of_local_day(filters.received_to + timedelta(days=1)))
    if filters.has_warnings is True:
        statement = statement.where(Visit.warning_count > 0)
    elif filters.has_warnings is False:
        statement = statement.where(Visit.warning_count == 0)
    if filters.warning_code:
        statement = statement.where(
            exists().where(and_(VisitWarning.visit_id == Visit.id, VisitWarning.code == filters.warning_code))
        )
    if filters.beneficiary_name:
        needle = filters.beneficiary_name.strip()
        statement = statement.where(
            Visit.beneficiary_id.in_(
                select(Beneficiary.id).where(
                    or_(
                        Beneficiary.name.contains(needle, autoescape=True),
                        Beneficiary.name_initials.startswith(needle.lower(), autoescape=True),
                    )
                )
            )
        )
    return statement.order_by(
        Visit.warning_severity.desc(), Visit.warning_count.desc(), Visit.received_at.asc(), Visit.id.asc()
    )


def next_to_review(reviewer: User) -> int | None:
    """The id of the visit at the head of the reviewer's queue that they may decide, or None when it is empty.

    After a decision the reviewer goes straight on to the next record instead of back to the list.
    """
    statement = review_queue_query(reviewer).where(
        Visit.worker_id != reviewer.id, ~Visit.coworkers.any(User.id == reviewer.id)
    )
    return db.session.scalar(statement.with_only_columns(Visit.id).limit(1))


def review_queue_page(user: User, filters: QueueFilters | None, page: int = 1, page_size: int = 50) -> QueuePage:
    """One page of the queue with everything its rows show loaded up front (a fixed number of queries)."""
    statement = review_queue_query(user, filters)
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = db.session.scalars(
        statement.options(
            joinedload(Visit.worker),
            joinedload(Visit.station),
            joinedload(Visit.service_point),
            joinedload(Visit.beneficiary).options(lazyload(Beneficiary.category_rows)),
            selectinload(Visit.warnings),
            selectinload(Visit.photos),
        )
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return QueuePage(items=list(rows), total=total or 0, page=page, page_size=page_size,
                     station_choices=_station_choices(user), worker_choices=_worker_choices(user))


def _listed_or_none(statement: Select) -> list | None:
    rows = db.session.scalars(statement.limit(MAX_FILTER_CHOICES + 1)).all()
    return None if len(rows) > MAX_FILTER_CHOICES else list(rows)


def _station_choices(user: User) -> list[Station] | None:
    statement = select(Station).order_by(Station.name, Station.id)
    stations = station_ids_in_scope(user)
    if stations is not None:
        statement = statement.where(Station.id.in_(stations))
    return _listed_or_none(statement)


def _worker_choices(user: User) -> list[User] | None:
    return _listed_or_none(
        scope_users(select(User).where(User.role == Role.WORKER), user).order_by(User.display_name, User.id)
    )


def queue_filter_choices(user: User) -> tuple[list[Station] | None, list[User] | None]:
    """What the station and worker filters offer the user (None when too many to list); the exports page shares it."""
    return _station_choices(user), _worker_choices(user)


def _review(reviewer: User, visit_id: int, action: str, comment: str | None) -> Visit:
    visit = get_visit_for(reviewer, visit_id)
    ensure_can_review(reviewer, visit)
    transition(visit, action, reviewer, comment)
    db.session.commit()
    return visit


def approve_visit(reviewer: User, visit_id: int, comment: str | None = None) -> Visit:
    """Approve a submitted visit (Conflict if it is no longer submitted)."""
    return _review(reviewer, visit_id, "approve", comment)


def reject_visit(reviewer: User, visit_id: int, comment: str) -> Visit:
    """Reject a submitted visit; the comment tells the worker why and is required."""
    return _review(reviewer, visit_id, "reject", comment)


def return_visit(reviewer: User, visit_id: int, comment: str) -> Visit:
    """Send a submitted visit back to its worker for more; the comment says what is missing and is required."""
    return _review(reviewer, visit_id, "return", comment)


def reopen_visit(reviewer: User, visit_id: int, reason: str) -> Visit:
    """Put an approved or rejected visit back into review; the reason is required and logged."""
    return _review(reviewer, visit_id, "reopen", reason)


REVIEW_FUNCTIONS = {
    "approve": approve_visit,
    "reject": reject_visit,
    "return": return_visit,
    "reopen": reopen_visit,
}


def review_visit(reviewer: User, visit_id: int, action: str, comment: str | None = None) -> Visit:
    """Apply one review action by name (approve, reject, return, reopen)."""
    if action not in REVIEW_FUNCTIONS:
        raise Invalid(f"未知操作 {action}", code="unknown_action", params={"action": action})
    return REVIEW_FUNCTIONS[action](reviewer, visit_id, comment)


def bulk_approve(reviewer: User, visit_ids) -> BulkReport:
    """Approve the clean submitted visits among visit_ids; skip and count the rest by reason.

    One transaction per approved visit, by design: each approval is committed on its own, so a visit
    changed by someone else meanwhile is skipped (its refused transition, which wrote nothing, is rolled
    back) without undoing the approvals before it.
    """
    wanted = list(dict.fromkeys(visit_ids))
    if len(wanted) > MAX_BULK_VISITS:
        raise Invalid(f"一次最多批量处理 {MAX_BULK_VISITS} 条", code="too_many_visits",
                      params={"limit": MAX_BULK_VISITS})
    report = BulkReport()
    visits = db.session.scalars(
        scope_visits(select(Visit).where(Visit.id.in_(wanted)), reviewer).options(selectinload(Visit.coworkers))
    ).all()
    by_id = {visit.id: visit for visit in visits}
    for visit_id in wanted:
        visit = by_id.get(visit_id)
        reason = _bulk_skip_reason(reviewer, visit)
        if reason is None:
            try:
                transition(visit, "approve", reviewer)
                db.session.commit()
            except Conflict:
                db.session.rollback()
                reason = "changed_meanwhile"
        if reason is None:
            report.approved.append(visit_id)
        else:
            report.skipped[reason] += 1
    return report


def _bulk_skip_reason(reviewer: User, visit: Visit | None) -> str | None:
    if visit is None:
        return "not_found"
    try:
        ensure_can_review(reviewer, visit)
    except NotFound:
        return "not_found"
    except Forbidden:
        return "own_visit"
    if visit.status != VisitStatus.SUBMITTED:
        return "not_submitted"
    if visit.warning_count:
        return "has_warnings"
    return None


def visit_neighbours(visit: Visit, viewer: User | None = None) -> tuple[Visit | None, Visit | None]:
    """The same worker's visit just before and just after this one (by start time), within the viewer's scope."""

    def nearest(before: bool) -> Visit | None:
        if before:
            condition = or_(Visit.started_at < visit.started_at,
                            and_(Visit.started_at == visit.started_at, Visit.id < visit.id))
            order = (Visit.started_at.desc(), Visit.id.desc())
        else:
            condition = or_(Visit.started_at > visit.started_at,
                            and_(Visit.started_at == visit.started_at, Visit.id > visit.id))
            order = (Visit.started_at.asc(), Visit.id.asc())
        statement = select(Visit).where(Visit.worker_id == visit.worker_id, condition).order_by(*order).limit(1)
        if viewer is not None:
            statement = scope_visits(statement, viewer)
        return db.session.scalar(statement)

    return nearest(before=True), nearest(before=False)


def _for_tiles(latitude: float, longitude: float) -> tuple[float, float]:
    # Chinese tile servers draw GCJ-02; stored points are WGS-84 and would sit up to ~700 m off.
    if current_app.config.get("MAP_TILE_COORD_TYPE") == "gcj02":
        return to_gcj02(latitude, longitude)
    return latitude, longitude


def map_points(visit: Visit) -> list[MapPoint]:
    """The check-in (with its accuracy), the registered home and each photo's GPS, ready for the map tiles."""
    points = []
    if visit.latitude is not None and visit.longitude is not None:
        lat, lon = _for_tiles(visit.latitude, visit.longitude)
        points.append(MapPoint("checkin", lat, lon, visit.accuracy_m))
    beneficiary = visit.beneficiary
    if beneficiary is not None and beneficiary.has_home_location:
        lat, lon = _for_tiles(beneficiary.home_latitude, beneficiary.home_longitude)
        points.append(MapPoint("home", lat, lon))
    for number, photo in enumerate(visit.photos, start=1):
        if photo.gps is not None:
            lat, lon = _for_tiles(photo.gps_latitude, photo.gps_longitude)
            points.append(MapPoint("photo", lat, lon, number=number))
    return points


def _evidence_visit_ids(evidence: dict) -> list[int]:
    ids = []
    for key, value in (evidence or {}).items():
        if key.endswith("visit_id") and isinstance(value, int):
            ids.append(value)
        elif key.endswith("visit_ids") and isinstance(value, list):
            ids.extend(item for item in value if isinstance(item, int))
    return ids


def _warning_links(viewer: User, visit: Visit) -> dict[int, list[int]]:
    wanted = {warning.id: [i for i in _evidence_visit_ids(warning.evidence) if i != visit.id]
              for warning in visit.warnings}
    all_ids = {visit_id for ids in wanted.values() for visit_id in ids}
    visible = set()
    if all_ids:
        visible = set(db.session.scalars(scope_visits(select(Visit.id).where(Visit.id.in_(all_ids)), viewer)))
    return {warning_id: [i for i in ids if i in visible] for warning_id, ids in wanted.items()}


def review_record(viewer: User, visit_id: int) -> ReviewRecord:
    """The record page of one visit in the viewer's scope (NotFound otherwise)."""
    visit = db.session.scalar(
        scope_visits(select(Visit).where(Visit.id == visit_id), viewer).options(
            joinedload(Visit.worker),
            joinedload(Visit.station),
            joinedload(Visit.service_point),
            joinedload(Visit.beneficiary),
            joinedload(Visit.reviewer),
            selectinload(Visit.coworkers),
            selectinload(Visit.warnings),
            selectinload(Visit.photos),
            selectinload(Visit.review_events).joinedload(ReviewEvent.actor),
        )
    )
    if visit is None:
        raise NotFound("走访记录不存在", code="visit_not_found")
    previous_visit, next_visit = visit_neighbours(visit, viewer)
    return ReviewRecord(visit=visit, previous_visit=previous_visit, next_visit=next_visit,
                        map_points=map_points(visit), warning_links=_warning_links(viewer, visit))


__all__ = [
    "BulkReport", "MapPoint", "QueueFilters", "QueuePage", "ReviewRecord", "SKIP_REASONS", "approve_visit",
    "bulk_approve", "map_points", "queue_filter_choices", "reject_visit", "reopen_visit", "return_visit",
    "review_queue_page", "review_queue_query", "review_record", "review_visit", "visit_neighbours",
]
