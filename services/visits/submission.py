"""Visit check-ins from phones: submission (idempotent per client_id), resubmission, listing and reading.

A submission is validated in full (vocabularies, times, place, beneficiary, photos, co-workers), then
saved in one transaction together with its photo attachments, its authenticity warnings and its
"submit" review event. Phones retry on bad networks, so (worker, client_id) identifies a check-in:
the same body again returns the stored visit, another body under the same client_id is a conflict.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models import Beneficiary, Photo, User, Visit, utcnow
from models.enums import (
    DOMAINS,
    FINDING_AREAS,
    FINDING_VALUES,
    KINDS_REQUIRING_PHOTO,
    KINDS_WITH_BENEFICIARY,
    KINDS_WITHOUT_LOCATION,
    NEEDS,
    SERVICES,
    VISIT_KINDS,
    VISIT_STATUSES,
    BeneficiaryStatus,
    Role,
    VisitStatus,
)
from models.types import in_column_range
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.geo import distance_m, to_wgs84
from services.permissions import can_submit_visits, get_visit_for
from services.visits import workflow
from services.visits.authenticity import apply_warnings

# Fields that describe the transmission, not the check-in: a retry may carry another value and is
# still the same check-in, so they are left out of the fingerprint.
FINGERPRINT_EXCLUDED = frozenset({"client_sent_at"})

VISIT_LIST_DEFAULT_LIMIT = 50
# Each finding is a tick plus a short remark; the long text belongs in `notes`.
MAX_FINDING_NOTE_LENGTH = 500


class _Errors:
    """Field errors gathered across all checks, so the phone can show every problem at once."""

    def __init__(self):
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise Invalid("走访记录有误，请检查后重新提交", fields=self.fields)


def _canonical_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): _canonical_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical_value(item) for item in value]
    return value


def body_fingerprint(data: Mapping) -> str:
    """SHA-256 of the canonical JSON of a loaded visit body (sorted keys, times in UTC, lists in order)."""
    canonical = {key: _canonical_value(value) for key, value in data.items() if key not in FINGERPRINT_EXCLUDED}
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _check_vocabulary(data: Mapping, errors: _Errors) -> None:
    if data.get("kind") not in VISIT_KINDS:
        errors.add("kind", f"须为 {', '.join(VISIT_KINDS)} 之一")
    for field, vocabulary in (("services", SERVICES), ("domains", DOMAINS), ("needs", NEEDS)):
        unknown = [code for code in data.get(field) or [] if code not in vocabulary]
        if unknown:
            errors.add(field, f"未知取值: {', '.join(map(str, unknown))}")
        elif len(set(data.get(field) or [])) != len(data.get(field) or []):
            errors.add(field, "不能重复")
    for area, finding in (data.get("findings") or {}).items():
        if area not in FINDING_AREAS:
            errors.add(f"findings.{area}", "未知的走访发现类别")
        elif finding.get("value") not in FINDING_VALUES:
            errors.add(f"findings.{area}.value", f"须为 {', '.join(FINDING_VALUES)} 之一")


def _check_times(data: Mapping, errors: _Errors, config: Mapping, *, now: datetime, oldest_from: datetime) -> None:
    started_at, ended_at = data["started_at"], data["ended_at"]
    if started_at > ended_at:
        errors.add("ended_at", "结束时间不能早于开始时间")
    latest = now + config["VISIT_MAX_FUTURE"]
    for field in ("started_at", "ended_at"):
        if data[field] > latest:
            errors.add(field, "时间晚于服务器当前时间，请检查手机时间")
    if started_at < oldest_from - config["VISIT_MAX_AGE"]:
        days = config["VISIT_MAX_AGE"].days
        errors.add("started_at", f"只能提交 {days} 天内的走访记录")


def _check_place(data: Mapping, errors: _Errors) -> tuple[float, float] | None:
    """Validate the location for the kind; return it in WGS-84 (None for a care_call)."""
    location = data.get("location")
    if data["kind"] in KINDS_WITHOUT_LOCATION:
        if location is not None:
            errors.add("location", "电话/视频探访不记录位置")
        return None
    if location is None:
        errors.add("location", "需要签到位置")
        return None
    latitude, longitude = location["latitude"], location["longitude"]
    if not -90 <= latitude <= 90:
        errors.add("location.latitude", "须在 -90 到 90 之间")
    if not -180 <= longitude <= 180:
        errors.add("location.longitude", "须在 -180 到 180 之间")
    accuracy = location.get("accuracy")
    if accuracy is not None and accuracy < 0:
        errors.add("location.accuracy", "不能为负数")
    if location.get("coord_type") not in ("wgs84", "gcj02"):
        errors.add("location.coord_type", "须为 wgs84 或 gcj02")
    if errors.fields.keys() & {"location.latitude", "location.longitude", "location.coord_type"}:
        return None
    return to_wgs84(latitude, longitude, location["coord_type"])


def _check_beneficiary(worker: User, data: Mapping, errors: _Errors) -> Beneficiary | None:
    beneficiary_id = data.get("beneficiary_id")
    if beneficiary_id is None:
        if data["kind"] in KINDS_WITH_BENEFICIARY:
            errors.add("beneficiary_id", "此类走访需要选择服务对象")
        return None
    beneficiary = db.session.get(Beneficiary, beneficiary_id)
    # Another station's person is reported like an unknown one: their existence is not the worker's to learn.
    if beneficiary is None or beneficiary.station_id != worker.station_id:
        errors.add("beneficiary_id", "服务对象不存在或不属于本站")
        return None
    if beneficiary.status != BeneficiaryStatus.ACTIVE:
        errors.add("beneficiary_id", "服务对象已销档")
        return None
    return beneficiary


def _check_photos(worker: User, data: Mapping, errors: _Errors, config: Mapping,
                  *, visit_id: int | None = None) -> list[Photo]:
    """The listed photos in order; each must be the worker's own and free (or already on this visit)."""
    photo_ids = list(data.get("photo_ids") or [])
    kind = data["kind"]
    if kind in KINDS_WITHOUT_LOCATION and photo_ids:
        errors.add("photo_ids", "电话/视频探访不上传照片")
        return []
    if kind in KINDS_REQUIRING_PHOTO and not photo_ids:
        errors.add("photo_ids", "入户走访至少需要一张照片")
    if len(photo_ids) > config["MAX_PHOTOS_PER_VISIT"]:
        errors.add("photo_ids", f"最多 {config['MAX_PHOTOS_PER_VISIT']} 张照片")
        return []
    if len(set(photo_ids)) != len(photo_ids):
        errors.add("photo_ids", "照片不能重复")
        return []
    if not photo_ids:
        return []
    found = {photo.id: photo for photo in db.session.scalars(select(Photo).where(Photo.id.in_(photo_ids)))}
    photos = []
    for photo_id in photo_ids:
        photo = found.get(photo_id)
        if photo is None or photo.owner_id != worker.id:
            errors.add("photo_ids", f"照片 {photo_id} 不存在")
        elif photo.visit_id is not None and photo.visit_id != visit_id:
            errors.add("photo_ids", f"照片 {photo_id} 已用于其他走访记录")
        else:
            photos.append(photo)
    return photos


def _check_coworkers(worker: User, data: Mapping, errors: _Errors) -> list[User]:
    coworker_ids = list(data.get("coworker_ids") or [])
    if not coworker_ids:
        return []
    if worker.id in coworker_ids or len(set(coworker_ids)) != len(coworker_ids):
        errors.add("coworker_ids", "同行社工不能包含本人或重复")
        return []
    found = {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(coworker_ids)))}
    coworkers = []
    for user_id in coworker_ids:
        user = found.get(user_id)
        if user is None or user.role != Role.WORKER or not user.active or user.station_id != worker.station_id:
            errors.add("coworker_ids", f"同行社工 {user_id} 不是本站在岗社工")
        else:
            coworkers.append(user)
    return coworkers


def _check_text_and_counts(data: Mapping, errors: _Errors, config: Mapping) -> None:
    if len(data.get("notes") or "") > config["MAX_NOTES_LENGTH"]:
        errors.add("notes", f"不能超过 {config['MAX_NOTES_LENGTH']} 字")
    for area, finding in (data.get("findings") or {}).items():
        if len(finding.get("note") or "") > MAX_FINDING_NOTE_LENGTH:
            errors.add(f"findings.{area}.note", f"不能超过 {MAX_FINDING_NOTE_LENGTH} 字")
    if data.get("people_count") is not None and data["people_count"] < 1:
        errors.add("people_count", "至少为 1")
    elif data.get("people_count") is not None and data["people_count"] > config["MAX_PEOPLE_COUNT"]:
        errors.add("people_count", f"不能超过 {config['MAX_PEOPLE_COUNT']}")


class _CheckedVisit:
    """Everything a valid submission resolves to, ready to be written onto a Visit."""

    def __init__(self, data, wgs84, beneficiary, photos, coworkers):
        self.data = data
        self.wgs84 = wgs84
        self.beneficiary = beneficiary
        self.photos = photos
        self.coworkers = coworkers


def _validate(worker: User, data: Mapping, config: Mapping, *, now: datetime, oldest_from: datetime,
              visit_id: int | None = None) -> _CheckedVisit:
    if not can_submit_visits(worker):
        raise Forbidden("只有社工可以提交走访记录", code="workers_only")
    errors = _Errors()
    _check_vocabulary(data, errors)
    errors.raise_if_any()
    _check_times(data, errors, config, now=now, oldest_from=oldest_from)
    _check_text_and_counts(data, errors, config)
    wgs84 = _check_place(data, errors)
    beneficiary = _check_beneficiary(worker, data, errors)
    photos = _check_photos(worker, data, errors, config, visit_id=visit_id)
    coworkers = _check_coworkers(worker, data, errors)
    errors.raise_if_any()
    return _CheckedVisit(data, wgs84, beneficiary, photos, coworkers)


def _write_fields(visit: Visit, worker: User, checked: _CheckedVisit) -> None:
    data = checked.data
    beneficiary = checked.beneficiary
    visit.beneficiary = beneficiary
    visit.station_id = beneficiary.station_id if beneficiary is not None else worker.station_id
    visit.service_point_id = beneficiary.service_point_id if beneficiary is not None else None
    visit.kind = data["kind"]
    visit.services = list(data.get("services") or [])
    visit.domains = list(data.get("domains") or [])
    visit.started_at = data["started_at"]
    visit.ended_at = data["ended_at"]
    location = data.get("location")
    visit.sent_latitude = location["latitude"] if location else None
    visit.sent_longitude = location["longitude"] if location else None
    visit.coord_type = location["coord_type"] if location else None
    visit.accuracy_m = location.get("accuracy") if location else None
    visit.latitude, visit.longitude = checked.wgs84 if checked.wgs84 else (None, None)
    visit.distance_from_home_m = None
    if checked.wgs84 and beneficiary is not None and beneficiary.has_home_location:
        visit.distance_from_home_m = distance_m(*checked.wgs84, beneficiary.home_latitude, beneficiary.home_longitude)
    visit.mock_location = bool(data.get("mock_location"))
    visit.client_sent_at = data.get("client_sent_at")
    visit.notes = data.get("notes") or ""
    visit.findings = {area: {"value": finding["value"], "note": finding.get("note") or ""}
                      for area, finding in (data.get("findings") or {}).items()}
    visit.needs = list(data.get("needs") or [])
    visit.follow_up_needed = bool(data.get("follow_up_needed"))
    visit.follow_up_due = data.get("follow_up_due")
    visit.photo_consent = bool(data.get("photo_consent"))
    visit.people_count = data.get("people_count") or 1
    visit.coworkers = checked.coworkers


def _attach_photos(visit: Visit, worker: User, photos: list[Photo]) -> None:
    """Claim each photo for the visit with a conditional UPDATE, so two visits can never share one.

    The photos' in-session attributes are left stale until the caller's commit expires them; nothing
    in between reads their visit_id or position.
    """
    for position, photo in enumerate(photos):
        claimed = db.session.execute(
            update(Photo)
            .where(Photo.id == photo.id, Photo.owner_id == worker.id,
                   or_(Photo.visit_id.is_(None), Photo.visit_id == visit.id))
            .values(visit_id=visit.id, position=position)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            raise Invalid("照片已用于其他走访记录", fields={"photo_ids": [f"照片 {photo.id} 已用于其他走访记录"]})


def _existing_visit(worker: User, client_id: str) -> Visit | None:
    return db.session.scalar(select(Visit).where(Visit.worker_id == worker.id, Visit.client_id == client_id))


def _replay(existing: Visit, fingerprint: str) -> tuple[Visit, bool]:
    if existing.body_fingerprint != fingerprint:
        raise Conflict("该 client_id 已用于另一条走访记录", code="client_id_conflict",
                       fields={"client_id": ["已用于内容不同的走访记录"]})
    return existing, False


def submit_visit(worker: User, data: Mapping, *, received_at: datetime | None = None) -> tuple[Visit, bool]:
    """Store a worker's check-in; return (visit, created).

    `data` is the loaded body (see api.v1.visits.VisitCreateSchema). A retry with the same body
    returns the stored visit and created=False; another body under the same client_id raises
    Conflict `client_id_conflict`. The visit, its photo attachments, warnings and "submit" event are
    committed together or not at all. A simultaneous identical submission that loses the race on the
    unique client_id is rolled back here, to answer with the winner's visit.
    """
    config = current_app.config
    received_at = received_at or utcnow()
    fingerprint = body_fingerprint(data)
    # A replay is answered before validation: a check-in stored days ago may now be outside the window.
    client_id = str(data["client_id"])
    existing = _existing_visit(worker, client_id)
    if existing is not None:
        return _replay(existing, fingerprint)

    try:
        checked = _validate(worker, data, config, now=received_at, oldest_from=received_at)
    except Invalid:
        # A twin of this request may have committed since the look-up above, taking its photos with it:
        # then this is a replay (or a conflict), not a bad body.
        existing = _existing_visit(worker, client_id)
        if existing is None:
            raise
        return _replay(existing, fingerprint)
    visit = Visit(client_id=client_id, body_fingerprint=fingerprint, worker_id=worker.id,
                  status=VisitStatus.SUBMITTED, revision=1, received_at=received_at, updated_at=received_at)
    _write_fields(visit, worker, checked)
    db.session.add(visit)
    try:
        # The unique (worker_id, client_id) constraint decides between simultaneous identical submissions:
        # the loser fails here (after waiting for the winner's commit) and answers with the winner's visit.
        db.session.flush()
        _attach_photos(visit, worker, checked.photos)
        apply_warnings(visit, checked.photos, config, received_at=received_at)
        workflow.record_submission(visit, worker)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = _existing_visit(worker, client_id)
        if existing is None:
            raise
        return _replay(existing, fingerprint)
    return visit, True


def resubmit_visit(worker: User, visit_id: int, data: Mapping) -> Visit:
    """Replace a returned visit's fields and photos, recompute its warnings and send it back for review.

    Only the visit's own worker may (anyone else gets NotFound), only while it is `returned`
    (otherwise Conflict `invalid_transition`). Photos left out become unattached again. The stored
    body fingerprint stays that of the first submission, so a late retry of it is still recognised.
    """
    config = current_app.config
    visit = get_visit_for(worker, visit_id)
    if visit.worker_id != worker.id:
        raise NotFound("走访记录不存在", code="visit_not_found")
    if visit.status != VisitStatus.RETURNED:
        raise Conflict(f"只有退回补充的记录可以修改（当前：{VISIT_STATUSES[visit.status]['zh']}）",
                       params={"status": visit.status},
                       code="invalid_transition")
    now = utcnow()
    # The age window runs from the first receipt: a long review must not make the visit too old to fix.
    checked = _validate(worker, data, config, now=now, oldest_from=visit.received_at, visit_id=visit.id)
    _write_fields(visit, worker, checked)
    kept = {photo.id for photo in checked.photos}
    for photo in list(visit.photos):
        if photo.id not in kept:
            visit.photos.remove(photo)
            photo.position = 0
    db.session.flush()
    _attach_photos(visit, worker, checked.photos)
    apply_warnings(visit, checked.photos, config, received_at=now)
    db.session.flush()
    workflow.transition(visit, "resubmit", worker)
    db.session.commit()
    return visit


def get_visit(user: User, visit_id: int) -> Visit:
    """One visit the user may see (a worker: their own), else NotFound."""
    return get_visit_for(user, visit_id)


def encode_cursor(visit: Visit) -> str:
    """An opaque cursor for the position just after this visit in newest-first order."""
    raw = json.dumps([visit.received_at.isoformat(), visit.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (received_at, id) position inside a cursor; a malformed cursor is a field error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        received_at_text, visit_id = json.loads(raw)
        received_at = datetime.fromisoformat(received_at_text)
        if received_at.tzinfo is None or not isinstance(visit_id, int) or not in_column_range(visit_id):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Invalid("分页参数无效", fields={"cursor": ["invalid cursor"]}) from None
    return received_at, visit_id


def list_visits_for_worker(worker: User, *, status: str | None = None, updated_since: datetime | None = None,
                           cursor: str | None = None,
                           limit: int = VISIT_LIST_DEFAULT_LIMIT) -> tuple[list[Visit], str | None]:
    """The worker's own visits, newest first, one page at a time; return (visits, next_cursor).

    Order: received_at descending, then id descending. received_at never changes, so a visit keeps
    its place while the worker pages even if it is reviewed meanwhile. `updated_since` (for phone
    sync) keeps visits changed at or after that time. The number of queries does not depend on the
    page size: photos, warnings, co-workers, beneficiary and reviewer are loaded with the page.
    """
    if status is not None and status not in VISIT_STATUSES:
        raise Invalid("未知状态", fields={"status": [f"one of {', '.join(VISIT_STATUSES)}"]})
    statement = select(Visit).where(Visit.worker_id == worker.id)
    if status is not None:
        statement = statement.where(Visit.status == status)
    if updated_since is not None:
        statement = statement.where(Visit.updated_at >= updated_since)
    if cursor:
        received_at, visit_id = decode_cursor(cursor)
        statement = statement.where(or_(Visit.received_at < received_at,
                                        and_(Visit.received_at == received_at, Visit.id < visit_id)))
    statement = (
        statement.order_by(Visit.received_at.desc(), Visit.id.desc())
        .limit(limit + 1)
        .options(
            joinedload(Visit.beneficiary),
            joinedload(Visit.reviewer),
            selectinload(Visit.photos),
            selectinload(Visit.warnings),
            selectinload(Visit.coworkers),
        )
    )
    visits = list(db.session.scalars(statement).unique())
    if len(visits) <= limit:
        return visits, None
    visits = visits[:limit]
    return visits, encode_cursor(visits[-1])
