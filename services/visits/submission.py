"""Visit check-ins from phones: submission (idempotent per client_id), resubmission, listing and reading.

A submission is validated in full (vocabularies, times, place, beneficiary, photos, co-workers), then
saved in one transaction together with its photo attachments, its authenticity warnings and its
"submit" review event. Phones retry on bad networks, so (worker, client_id) identifies a check-in:
the same body again returns the stored visit, another body under the same client_id is a conflict.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask import current_app
from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

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
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.geo import distance_m, is_latitude, is_longitude, to_wgs84
from services.pagination import decode_cursor, encode_cursor, split_page
from services.permissions import can_submit_visits, get_visit_for
from services.validation import FieldErrors
from services.visits import workflow
from services.visits.authenticity import apply_warnings
from services.visits.inputs import VisitInput

# Fields that describe the transmission, not the check-in: a retry may carry another value and is
# still the same check-in, so they are left out of the fingerprint.
FINGERPRINT_EXCLUDED = frozenset({"client_sent_at"})

VISIT_LIST_DEFAULT_LIMIT = 50
# The visit list's order, named in its cursors: received_at, then id, both descending.
NEWEST_FIRST_ORDER = "newest_first"
# Everything an answer about a visit shows, loaded with it rather than one lazy load at a time.
_VISIT_ANSWER_LOADS = (
    joinedload(Visit.beneficiary),
    joinedload(Visit.reviewer),
    selectinload(Visit.photos),
    selectinload(Visit.warnings),
    selectinload(Visit.coworkers),
)
# Each finding is a tick plus a short remark; the long text belongs in `notes`.
MAX_FINDING_NOTE_LENGTH = 500


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


def body_fingerprint(visit: VisitInput) -> str:
    """SHA-256 of the canonical JSON of a visit body (sorted keys, times in UTC, lists in order).

    Stored with every visit since the first release, so its input must stay the loaded body's fields and
    values as they were then (field names of VisitInput = the API's).
    """
    canonical = {key: _canonical_value(value) for key, value in visit.as_dict().items()
                 if key not in FINGERPRINT_EXCLUDED}
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _check_vocabulary(sent: VisitInput, errors: FieldErrors) -> None:
    if sent.kind not in VISIT_KINDS:
        errors.add("kind", f"须为 {', '.join(VISIT_KINDS)} 之一")
    for field, vocabulary in (("services", SERVICES), ("domains", DOMAINS), ("needs", NEEDS)):
        codes = getattr(sent, field)
        unknown = [code for code in codes if code not in vocabulary]
        if unknown:
            errors.add(field, f"未知取值: {', '.join(map(str, unknown))}")
        elif len(set(codes)) != len(codes):
            errors.add(field, "不能重复")
    for area, finding in sent.findings.items():
        if area not in FINDING_AREAS:
            errors.add(f"findings.{area}", "未知的走访发现类别")
        elif finding.value not in FINDING_VALUES:
            errors.add(f"findings.{area}.value", f"须为 {', '.join(FINDING_VALUES)} 之一")


def _check_times(sent: VisitInput, errors: FieldErrors, config: Mapping, *, now: datetime,
                 oldest_from: datetime) -> None:
    started_at, ended_at = sent.started_at, sent.ended_at
    if started_at > ended_at:
        errors.add("ended_at", "结束时间不能早于开始时间")
    latest = now + config["VISIT_MAX_FUTURE"]
    for field, moment in (("started_at", started_at), ("ended_at", ended_at)):
        if moment > latest:
            errors.add(field, "时间晚于服务器当前时间，请检查手机时间")
    if started_at < oldest_from - config["VISIT_MAX_AGE"]:
        days = config["VISIT_MAX_AGE"].days
        errors.add("started_at", f"只能提交 {days} 天内的走访记录")


def _check_place(sent: VisitInput, errors: FieldErrors) -> tuple[float, float] | None:
    """Validate the location for the kind; return it in WGS-84 (None for a care_call)."""
    location = sent.location
    if sent.kind in KINDS_WITHOUT_LOCATION:
        if location is not None:
            errors.add("location", "电话/视频探访不记录位置")
        return None
    if location is None:
        errors.add("location", "需要签到位置")
        return None
    latitude, longitude = location.latitude, location.longitude
    if not is_latitude(latitude):
        errors.add("location.latitude", "须在 -90 到 90 之间")
    if not is_longitude(longitude):
        errors.add("location.longitude", "须在 -180 到 180 之间")
    if location.accuracy is not None and location.accuracy < 0:
        errors.add("location.accuracy", "不能为负数")
    if location.coord_type not in ("wgs84", "gcj02"):
        errors.add("location.coord_type", "须为 wgs84 或 gcj02")
    if errors.fields.keys() & {"location.latitude", "location.longitude", "location.coord_type"}:
        return None
    return to_wgs84(latitude, longitude, location.coord_type)


def _check_beneficiary(worker: User, sent: VisitInput, errors: FieldErrors) -> Beneficiary | None:
    if sent.beneficiary_id is None:
        if sent.kind in KINDS_WITH_BENEFICIARY:
            errors.add("beneficiary_id", "此类走访需要选择服务对象")
        return None
    # The person's categories are not needed to record a visit: skip their eager load.
    beneficiary = db.session.scalar(select(Beneficiary).where(Beneficiary.id == sent.beneficiary_id)
                                    .options(lazyload(Beneficiary.category_rows)))
    # Another station's person is reported like an unknown one: their existence is not the worker's to learn.
    if beneficiary is None or beneficiary.station_id != worker.station_id:
        errors.add("beneficiary_id", "服务对象不存在或不属于本站")
        return None
    if beneficiary.status != BeneficiaryStatus.ACTIVE:
        errors.add("beneficiary_id", "服务对象已销档")
        return None
    return beneficiary


def _check_photo_list(sent: VisitInput, errors: FieldErrors, config: Mapping) -> bool:
    """The rules on the list of photo ids alone; True when its photos are left to look up."""
    photo_ids = sent.photo_ids
    if sent.kind in KINDS_WITHOUT_LOCATION and photo_ids:
        errors.add("photo_ids", "电话/视频探访不上传照片")
        return False
    if sent.kind in KINDS_REQUIRING_PHOTO and not photo_ids:
        errors.add("photo_ids", "入户走访至少需要一张照片")
    if len(photo_ids) > config["MAX_PHOTOS_PER_VISIT"]:
        errors.add("photo_ids", f"最多 {config['MAX_PHOTOS_PER_VISIT']} 张照片")
        return False
    if len(set(photo_ids)) != len(photo_ids):
        errors.add("photo_ids", "照片不能重复")
        return False
    return bool(photo_ids)


def _check_photos(worker: User, photo_ids: tuple[int, ...], errors: FieldErrors,
                  *, visit_id: int | None = None) -> list[Photo]:
    """The listed photos in order; each must be the worker's own and free (or already on this visit)."""
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


def _check_coworkers(worker: User, sent: VisitInput, errors: FieldErrors) -> list[User]:
    coworker_ids = sent.coworker_ids
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


def _check_text_and_counts(sent: VisitInput, errors: FieldErrors, config: Mapping) -> None:
    if len(sent.notes) > config["MAX_NOTES_LENGTH"]:
        errors.add("notes", f"不能超过 {config['MAX_NOTES_LENGTH']} 字")
    for area, finding in sent.findings.items():
        if len(finding.note) > MAX_FINDING_NOTE_LENGTH:
            errors.add(f"findings.{area}.note", f"不能超过 {MAX_FINDING_NOTE_LENGTH} 字")
    if sent.people_count < 1:
        errors.add("people_count", "至少为 1")
    elif sent.people_count > config["MAX_PEOPLE_COUNT"]:
        errors.add("people_count", f"不能超过 {config['MAX_PEOPLE_COUNT']}")


@dataclass(frozen=True)
class _CheckedVisit:
    """Everything a valid submission resolves to, ready to be written onto a Visit.

    `photos` is None when the photos were not looked up: a new check-in claims them in one UPDATE instead.
    """

    sent: VisitInput
    wgs84: tuple[float, float] | None
    beneficiary: Beneficiary | None
    photos: list[Photo] | None
    coworkers: list[User]


def _validate(worker: User, sent: VisitInput, config: Mapping, *, now: datetime, oldest_from: datetime,
              visit_id: int | None = None, look_up_photos: bool = True) -> _CheckedVisit:
    if not can_submit_visits(worker):
        raise Forbidden("只有社工可以提交走访记录", code="workers_only")
    errors = FieldErrors("走访记录有误，请检查后重新提交")
    _check_vocabulary(sent, errors)
    errors.raise_if_any()
    _check_times(sent, errors, config, now=now, oldest_from=oldest_from)
    _check_text_and_counts(sent, errors, config)
    wgs84 = _check_place(sent, errors)
    beneficiary = _check_beneficiary(worker, sent, errors)
    photos = None
    if _check_photo_list(sent, errors, config):
        if look_up_photos:
            photos = _check_photos(worker, sent.photo_ids, errors, visit_id=visit_id)
    else:
        photos = []
    coworkers = _check_coworkers(worker, sent, errors)
    errors.raise_if_any()
    return _CheckedVisit(sent, wgs84, beneficiary, photos, coworkers)


def _write_fields(visit: Visit, worker: User, checked: _CheckedVisit) -> None:
    sent = checked.sent
    beneficiary = checked.beneficiary
    visit.beneficiary = beneficiary
    visit.station_id = beneficiary.station_id if beneficiary is not None else worker.station_id
    visit.service_point_id = beneficiary.service_point_id if beneficiary is not None else None
    visit.kind = sent.kind
    visit.services = list(sent.services)
    visit.domains = list(sent.domains)
    visit.started_at = sent.started_at
    visit.ended_at = sent.ended_at
    location = sent.location
    visit.sent_latitude = location.latitude if location else None
    visit.sent_longitude = location.longitude if location else None
    visit.coord_type = location.coord_type if location else None
    visit.accuracy_m = location.accuracy if location else None
    visit.latitude, visit.longitude = checked.wgs84 if checked.wgs84 else (None, None)
    visit.distance_from_home_m = None
    if checked.wgs84 and beneficiary is not None and beneficiary.has_home_location:
        visit.distance_from_home_m = distance_m(*checked.wgs84, beneficiary.home_latitude, beneficiary.home_longitude)
    visit.mock_location = sent.mock_location
    visit.client_sent_at = sent.client_sent_at
    visit.notes = sent.notes
    visit.findings = {area: {"value": finding.value, "note": finding.note} for area, finding in sent.findings.items()}
    visit.needs = list(sent.needs)
    visit.follow_up_needed = sent.follow_up_needed
    visit.follow_up_due = sent.follow_up_due
    visit.photo_consent = sent.photo_consent
    visit.people_count = sent.people_count
    visit.coworkers = checked.coworkers


def _claim_photos(visit: Visit, worker: User, photo_ids: tuple[int, ...]) -> list[Photo]:
    """Claim the photos for the visit in one conditional UPDATE, so two visits can never share one.

    A photo is claimed only while it is the worker's own and free (or already this visit's); the claimed
    rows come back from the UPDATE, so the photos are never read separately. Raises Invalid, naming no
    photo, when any is not claimable: the caller rolls back and finds out which.
    """
    if not photo_ids:
        return []
    positions = {photo_id: position for position, photo_id in enumerate(photo_ids)}
    claimed = db.session.scalars(
        update(Photo)
        .where(Photo.id.in_(photo_ids), Photo.owner_id == worker.id,
               or_(Photo.visit_id.is_(None), Photo.visit_id == visit.id))
        .values(visit_id=visit.id, position=case(positions, value=Photo.id))
        .returning(Photo)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).all()
    if len(claimed) != len(photo_ids):
        raise Invalid("照片已用于其他走访记录", fields={"photo_ids": ["照片不存在或已用于其他走访记录"]})
    photos = sorted(claimed, key=lambda photo: positions[photo.id])
    # The rows already say so: record the collection as loaded rather than have a flush write it again.
    set_committed_value(visit, "photos", photos)
    return photos


def _existing_visit(worker: User, client_id: str) -> Visit | None:
    return db.session.scalar(
        select(Visit).where(Visit.worker_id == worker.id, Visit.client_id == client_id)
        .options(*_VISIT_ANSWER_LOADS)
    )


def _replay(existing: Visit, fingerprint: str) -> tuple[Visit, bool]:
    if existing.body_fingerprint != fingerprint:
        raise Conflict("该 client_id 已用于另一条走访记录", code="client_id_conflict",
                       fields={"client_id": ["已用于内容不同的走访记录"]})
    return existing, False


def _commit_without_expiring() -> None:
    """Commit, keeping what the session holds loaded: the caller answers from what was just written.

    Every value of the visit was set here or returned by its INSERT and UPDATE, so reading it all back
    after the commit (the session's default) would only repeat it.
    """
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire_on_commit


def submit_visit(worker: User, visit: VisitInput, *, received_at: datetime | None = None) -> tuple[Visit, bool]:
    """Store a worker's check-in; return (visit, created).

    A retry with the same body returns the stored visit and created=False; another body under the same
    client_id raises Conflict `client_id_conflict`. The visit, its photo attachments, warnings and
    "submit" event are committed together or not at all.

    The common case costs one statement per step: the INSERT itself is the idempotency check (the unique
    (worker_id, client_id) constraint refuses a second one), and the photos are checked by the UPDATE that
    claims them. Only a refused insert or claim looks further, to tell a replay from a conflict or a bad body.
    A simultaneous identical submission that loses the race on the unique client_id is rolled back here,
    to answer with the winner's visit.
    """
    if visit.client_id is None:
        raise ValueError("a submission needs the client_id made on the phone")
    config = current_app.config
    received_at = received_at or utcnow()
    fingerprint = body_fingerprint(visit)
    try:
        checked = _validate(worker, visit, config, now=received_at, oldest_from=received_at, look_up_photos=False)
        stored = _new_visit(worker, checked, fingerprint, received_at)
        db.session.add(stored)
        photos = []
        if visit.photo_ids:
            # A photo is claimed by the visit's id: the INSERT goes first.
            db.session.flush()
            photos = _claim_photos(stored, worker, visit.photo_ids)
        # Without photos the visit is still unsaved here, and its warnings are written in the same flush as
        # the visit. (An unsaved visit has no id: no stored visit is taken for it.)
        with db.session.no_autoflush:
            apply_warnings(stored, photos, config, received_at=received_at)
        workflow.record_submission(stored, worker)
        # The INSERT is the transaction's first write, so a refused one leaves nothing to keep. Between
        # simultaneous identical submissions, the loser waits at it for the winner's commit, then fails.
        _commit_without_expiring()
    except (Invalid, IntegrityError) as refused:
        db.session.rollback()
        return _replay_or_raise(worker, visit, fingerprint, refused, received_at=received_at)
    return stored, True


def _new_visit(worker: User, checked: _CheckedVisit, fingerprint: str, received_at: datetime) -> Visit:
    # Collections and review fields start known-empty, so nothing is loaded to fill them in after the INSERT.
    visit = Visit(client_id=checked.sent.client_id, body_fingerprint=fingerprint, worker_id=worker.id,
                  status=VisitStatus.SUBMITTED, revision=1, received_at=received_at, updated_at=received_at,
                  warning_count=0, warning_severity=0, reviewer_id=None, reviewed_at=None, review_comment=None,
                  warnings=[], photos=[], review_events=[])
    _write_fields(visit, worker, checked)
    return visit


def _replay_or_raise(worker: User, sent: VisitInput, fingerprint: str, refused: Exception,
                     *, received_at: datetime) -> tuple[Visit, bool]:
    """After a refused validation, insert or photo claim: a stored twin makes this a replay (or a conflict).

    A replay is recognised whatever its body's validity now: a check-in stored days ago may be outside the
    window, and a twin that committed meanwhile has taken its photos. Otherwise the full validation names
    every bad field.
    """
    existing = _existing_visit(worker, sent.client_id)
    if existing is not None:
        return _replay(existing, fingerprint)
    if isinstance(refused, Invalid):
        _validate(worker, sent, current_app.config, now=received_at, oldest_from=received_at)
    raise refused


def resubmit_visit(worker: User, visit_id: int, visit: VisitInput, *, reply: str | None = None) -> Visit:
    """Replace a returned visit's fields and photos, recompute its warnings and send it back for review.

    `reply` is the worker's answer to the return comment; the record as it stood before is kept on the
    resubmit event (revision_snapshot), so the reviewer sees what changed.

    Only the visit's own worker may (anyone else gets NotFound), only while it is `returned`
    (otherwise Conflict `invalid_transition`). Photos left out become unattached again. The stored
    body fingerprint stays that of the first submission, so a late retry of it is still recognised.
    """
    config = current_app.config
    stored = get_visit_for(worker, visit_id)
    if stored.worker_id != worker.id:
        raise NotFound("走访记录不存在", code="visit_not_found")
    if stored.status != VisitStatus.RETURNED:
        raise Conflict(f"只有退回补充的记录可以修改（当前：{VISIT_STATUSES[stored.status]['zh']}）",
                       params={"status": stored.status},
                       code="invalid_transition")
    now = utcnow()
    # The age window runs from the first receipt: a long review must not make the visit too old to fix.
    checked = _validate(worker, visit, config, now=now, oldest_from=stored.received_at, visit_id=stored.id)
    before = revision_snapshot(stored)
    _write_fields(stored, worker, checked)
    kept = {photo.id for photo in checked.photos}
    for photo in list(stored.photos):
        if photo.id not in kept:
            stored.photos.remove(photo)
            photo.position = 0
    db.session.flush()
    photos = _claim_photos(stored, worker, visit.photo_ids)
    apply_warnings(stored, photos, config, received_at=now)
    db.session.flush()
    event = workflow.transition(stored, "resubmit", worker, reply)
    event.snapshot = before
    stored.resubmitted_at = event.created_at
    _commit_without_expiring()
    return stored


# The fields a reviewer compares between revisions, in the record page's order.
SNAPSHOT_FIELDS = ("beneficiary_id", "kind", "services", "domains", "started_at", "ended_at", "latitude",
                   "longitude", "accuracy_m", "notes", "findings", "needs", "follow_up_needed", "follow_up_due",
                   "photo_consent", "people_count")


def revision_snapshot(visit: Visit) -> dict:
    """The visit as it stands, as JSON: its compared fields, photo ids in order and warnings (code, severity, message).

    Kept on the resubmit event, so the record page can show what the worker changed.
    """
    fields = {name: _canonical_value(getattr(visit, name)) for name in SNAPSHOT_FIELDS}
    return {
        "revision": visit.revision,
        "fields": fields,
        "photo_ids": [photo.id for photo in visit.photos],
        "warnings": [{"code": warning.code, "severity": warning.severity, "message": warning.message}
                     for warning in visit.warnings],
    }


def get_visit(user: User, visit_id: int) -> Visit:
    """One visit the user may see (a worker: their own), else NotFound."""
    return get_visit_for(user, visit_id)


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
        received_at, visit_id = decode_cursor(cursor, NEWEST_FIRST_ORDER, (datetime, int))
        statement = statement.where(or_(Visit.received_at < received_at,
                                        and_(Visit.received_at == received_at, Visit.id < visit_id)))
    statement = (
        statement.order_by(Visit.received_at.desc(), Visit.id.desc())
        .limit(limit + 1)
        .options(*_VISIT_ANSWER_LOADS)
    )
    visits, has_more = split_page(list(db.session.scalars(statement).unique()), limit)
    if not has_more:
        return visits, None
    return visits, encode_cursor(NEWEST_FIRST_ORDER, (visits[-1].received_at, visits[-1].id))
