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
from sqlalchemy import Select, and_, exists, func, or_, select, tuple_
from sqlalchemy.orm import joinedload, lazyload, selectinload

from extensions import db
from models import Beneficiary, Photo, ReviewEvent, Station, User, Visit, VisitWarning
from models.enums import Role, VisitStatus
from models.visit import QUEUE_RANK_SEVERITY_WEIGHT, VISIT_QUEUE_RANK
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.geo import to_gcj02
from services.localtime import time_zone
from services.pagination import decode_cursor, encode_cursor
from services.permissions import ensure_can_review, get_visit_for, scope_users, scope_visits, station_ids_in_scope
from services.visits.evidence import RelatedVisit, reused_visit_ids
from services.visits.submission import revision_snapshot
from services.visits.workflow import transition

MAX_BULK_VISITS = 500
MAX_FILTER_CHOICES = 300
DEFAULT_QUEUE_STATUS = VisitStatus.SUBMITTED
# The queue counts matching records up to this many and then says "more than"; an exact count of a
# million approved visits would cost more than the page itself.
QUEUE_COUNT_LIMIT = 1_000
QUEUE_CURSOR_ORDER = "review_queue"

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
    # Reviewed (decided) on or after this local day: the dashboard's "approved this week" opens the queue with it.
    reviewed_from: date | None = None


@dataclass
class QueuePage:
    """One page of the review queue, keyset-paginated: cursors lead to the pages before and after it."""

    items: list[Visit]
    # Matching records, counted up to QUEUE_COUNT_LIMIT; total_is_lower_bound when there are more.
    total: int
    page: int
    page_size: int
    # What the station and worker filters offer; None when there are too many to list (a number is typed instead).
    station_choices: list[Station] | None = None
    worker_choices: list[User] | None = None
    next_cursor: str | None = None
    previous_cursor: str | None = None
    total_is_lower_bound: bool = False

    @property
    def pages(self) -> int:
        counted = max(1, ceil(self.total / self.page_size))
        return max(counted, self.page + 1) if self.next_cursor else counted


@dataclass
class BulkReport:
    """The outcome of a bulk approval: the approved visit ids, and the skipped ones counted by reason code
    (has_warnings, not_submitted, own_visit, not_found, changed_meanwhile)."""

    approved: list[int] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


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


@dataclass(frozen=True)
class QueuePosition:
    """Where a record sits in the reviewer's queue: 第 3 / 27 条, and the records before and after it."""

    number: int
    total: int
    previous_id: int | None
    next_id: int | None


@dataclass
class RevisionChanges:
    """What a resubmission changed against the previous revision, and the worker's reply."""

    revision: int
    resubmitted_at: datetime
    reply: str | None
    # (field name, value before, value now), JSON-shaped values as stored in the snapshot.
    fields: list[tuple[str, object, object]]
    photos_added: list[int]
    photos_removed: list[int]
    warnings_before: list[dict]
    warnings_after: list[dict]


@dataclass
class ReviewRecord:
    """Everything the record page shows about one visit."""

    visit: Visit
    previous_visit: Visit | None
    next_visit: Visit | None
    map_points: list[MapPoint]
    # Per warning id, the other visits its evidence points at that the viewer may open.
    warning_links: dict[int, list[int]]
    # The facts of those visits the evidence sentences name (beneficiary, worker, date), by visit id.
    related: dict[int, RelatedVisit] = field(default_factory=dict)
    # Per other visit id, its photos (for the side-by-side comparison of a reused photo).
    related_photos: dict[int, list[Photo]] = field(default_factory=dict)
    queue_position: QueuePosition | None = None
    changes: RevisionChanges | None = None


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
    if filters.reviewed_from is not None:
        statement = statement.where(Visit.reviewed_at >= _start_of_local_day(filters.reviewed_from))
    # On the queue's rank (negative exactly when a visit has warnings), so the queue indexes also count them.
    if filters.has_warnings is True:
        statement = statement.where(VISIT_QUEUE_RANK < 0)
    elif filters.has_warnings is False:
        statement = statement.where(VISIT_QUEUE_RANK == 0)
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
    return statement.order_by(*_queue_key())


def _queue_key() -> tuple:
    """The queue's order as ascending columns (warned first: severity, then count; then oldest received).

    VISIT_QUEUE_RANK folds "severity desc, count desc" into one ascending value so that the whole key is
    one row value, which keyset pages compare and the ix_visits_queue indexes serve as a range.
    """
    return VISIT_QUEUE_RANK, Visit.received_at, Visit.id


def next_to_review(reviewer: User) -> int | None:
    """The id of the visit at the head of the reviewer's queue that they may decide, or None when it is empty.

    After a decision the reviewer goes straight on to the next record instead of back to the list.
    """
    statement = review_queue_query(reviewer).where(
        Visit.worker_id != reviewer.id, ~Visit.coworkers.any(User.id == reviewer.id)
    )
    return db.session.scalar(statement.with_only_columns(Visit.id).limit(1))


def review_queue_page(user: User, filters: QueueFilters | None, *, after: str | None = None,
                      before: str | None = None, page_size: int = 50) -> QueuePage:
    """One page of the queue with everything its rows show loaded up front (a fixed number of queries).

    Keyset pages: `after` (a page's next_cursor) gives the page that follows it, `before` (its
    previous_cursor) the one that precedes it, neither the first page. Every page is one index range
    read, however deep; a damaged cursor is Invalid.
    """
    statement = review_queue_query(user, filters)
    limited = statement.order_by(None).limit(QUEUE_COUNT_LIMIT + 1).with_only_columns(Visit.id).subquery()
    total = db.session.scalar(select(func.count()).select_from(limited)) or 0
    page, backwards = 1, False
    if after or before:
        page, key = _decode_queue_cursor(after or before)
        backwards = before is not None and after is None
        key_row = tuple_(*_queue_key())
        statement = statement.where(key_row < tuple_(*key) if backwards else key_row > tuple_(*key))
        if backwards:
            statement = statement.order_by(None).order_by(*(column.desc() for column in _queue_key()))
    rows = db.session.scalars(
        statement.options(
            joinedload(Visit.worker),
            joinedload(Visit.station),
            joinedload(Visit.service_point),
            joinedload(Visit.beneficiary).options(lazyload(Beneficiary.category_rows)),
            selectinload(Visit.warnings),
            selectinload(Visit.photos),
        )
        .limit(page_size + 1)
    ).all()
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
    has_next = more if not backwards else True
    has_previous = page > 1 and (more if backwards else True)
    return QueuePage(
        items=list(rows), total=min(total, QUEUE_COUNT_LIMIT), page=page, page_size=page_size,
        station_choices=_station_choices(user), worker_choices=_worker_choices(user),
        next_cursor=_queue_cursor(rows[-1], page + 1) if rows and has_next else None,
        previous_cursor=_queue_cursor(rows[0], page - 1) if rows and has_previous else None,
        total_is_lower_bound=total > QUEUE_COUNT_LIMIT,
    )


def _queue_cursor(visit: Visit, page: int) -> str:
    """The cursor of a page that starts after (or ends before) this visit; it carries the page's number for show."""
    rank = -(visit.warning_severity * QUEUE_RANK_SEVERITY_WEIGHT + visit.warning_count)
    return encode_cursor(QUEUE_CURSOR_ORDER, [page, rank, visit.received_at.isoformat(), visit.id])


def _decode_queue_cursor(cursor: str) -> tuple[int, tuple]:
    page, rank, received_at, visit_id = decode_cursor(cursor, QUEUE_CURSOR_ORDER, (int, int, str, int))
    try:
        received = datetime.fromisoformat(received_at)
    except ValueError:
        received = None
    if received is None or received.tzinfo is None or page < 1:
        raise Invalid("分页游标无效，请从第一页重新加载", code="invalid_cursor",
                      fields={"cursor": ["invalid or does not match this query"]})
    return page, (rank, received, visit_id)


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
        elif key == "previous_visit" and isinstance(value, dict) and isinstance(value.get("id"), int):
            ids.append(value["id"])
    ids.extend(reused_visit_ids(evidence or {}))
    return list(dict.fromkeys(ids))


def _warning_links(viewer: User, visit: Visit) -> tuple[dict[int, list[int]], dict[int, Visit]]:
    """Per warning, the other visits its evidence names that the viewer may open; and those visits, loaded."""
    wanted = {warning.id: [i for i in _evidence_visit_ids(warning.evidence) if i != visit.id]
              for warning in visit.warnings}
    all_ids = {visit_id for ids in wanted.values() for visit_id in ids}
    visible: dict[int, Visit] = {}
    if all_ids:
        rows = db.session.scalars(
            scope_visits(select(Visit).where(Visit.id.in_(all_ids)), viewer).options(
                joinedload(Visit.worker), joinedload(Visit.beneficiary).options(lazyload(Beneficiary.category_rows)),
                selectinload(Visit.photos))
        )
        visible = {row.id: row for row in rows}
    return {warning_id: [i for i in ids if i in visible] for warning_id, ids in wanted.items()}, visible


def _queue_before(visit: Visit):
    """Rows ahead of the visit in the queue order (severity desc, count desc, received_at asc, id asc)."""
    severity, count, received, ident = visit.warning_severity, visit.warning_count, visit.received_at, visit.id
    return or_(
        Visit.warning_severity > severity,
        and_(Visit.warning_severity == severity, Visit.warning_count > count),
        and_(Visit.warning_severity == severity, Visit.warning_count == count, Visit.received_at < received),
        and_(Visit.warning_severity == severity, Visit.warning_count == count, Visit.received_at == received,
             Visit.id < ident),
    )


def queue_position(viewer: User, visit: Visit) -> QueuePosition | None:
    """The visit's place in the viewer's queue of pending records (None when it is not pending)."""
    if visit.status != DEFAULT_QUEUE_STATUS:
        return None
    queue = review_queue_query(viewer).order_by(None)
    total = db.session.scalar(select(func.count()).select_from(queue.subquery())) or 0
    ahead = queue.where(_queue_before(visit))
    number = (db.session.scalar(select(func.count()).select_from(ahead.subquery())) or 0) + 1
    ordered = review_queue_query(viewer).with_only_columns(Visit.id)
    previous_id = db.session.scalar(
        ahead.with_only_columns(Visit.id).order_by(Visit.warning_severity.asc(), Visit.warning_count.asc(),
                                                   Visit.received_at.desc(), Visit.id.desc()).limit(1))
    next_id = db.session.scalar(ordered.where(~_queue_before(visit), Visit.id != visit.id).limit(1))
    return QueuePosition(number=number, total=max(total, number), previous_id=previous_id, next_id=next_id)


def _json_equal(first, second) -> bool:
    return first == second or (first in (None, "", [], {}) and second in (None, "", [], {}))


def revision_changes(visit: Visit) -> RevisionChanges | None:
    """What the last resubmission changed (fields, photos, warnings) and the worker's reply; None if never."""
    event = next((item for item in reversed(visit.review_events)
                  if item.action == "resubmit" and item.snapshot), None)
    if event is None:
        return None
    before = event.snapshot
    now = revision_snapshot(visit)
    changed = [(name, before.get("fields", {}).get(name), value) for name, value in now["fields"].items()
               if not _json_equal(before.get("fields", {}).get(name), value)]
    photos_before, photos_now = before.get("photo_ids") or [], now["photo_ids"]
    return RevisionChanges(
        revision=event.revision, resubmitted_at=event.created_at, reply=event.comment, fields=changed,
        photos_added=[i for i in photos_now if i not in photos_before],
        photos_removed=[i for i in photos_before if i not in photos_now],
        warnings_before=before.get("warnings") or [], warnings_after=now["warnings"],
    )


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
    links, others = _warning_links(viewer, visit)
    related = {other.id: RelatedVisit(id=other.id, beneficiary_name=other.beneficiary.name if other.beneficiary
                                      else None, worker_name=other.worker.name, started_at=other.started_at)
               for other in others.values()}
    return ReviewRecord(visit=visit, previous_visit=previous_visit, next_visit=next_visit,
                        map_points=map_points(visit), warning_links=links, related=related,
                        related_photos={other.id: list(other.photos) for other in others.values()},
                        queue_position=queue_position(viewer, visit), changes=revision_changes(visit))


__all__ = [
    "BulkReport", "MapPoint", "QueueFilters", "QueuePage", "QueuePosition", "ReviewRecord", "RevisionChanges",
    "approve_visit", "bulk_approve", "map_points", "queue_filter_choices", "queue_position", "reject_visit",
    "reopen_visit", "return_visit", "review_queue_page", "review_queue_query", "review_record", "review_visit",
    "revision_changes", "visit_neighbours",
]
