"""Authenticity warnings: the signs of a faked check-in that a supervisor looks at first.

Each warning carries a code (models.enums.WARNING_CODES), its severity, a Chinese message for the
reviewer and its evidence: data only (the numbers that fired it, the threshold, ids and times of what
it points at), bounded in size whatever the history. Warnings are computed at submission and at
resubmission and stored on the visit, with a count and the highest severity denormalised for the
review queue.

A warning helps the review; it is never worth losing the check-in over. A check that fails is logged
and skipped, and warnings the database refuses are logged and dropped, the visit is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, false, literal, or_, select, union_all
from sqlalchemy.exc import SQLAlchemyError

from extensions import db
from models import Photo, Visit, VisitWarning
from models.enums import WARNING_CODES
from services.geo import distance_m
from services.photos.pipeline import phash_distance
from services.photos.similarity import hash_is_near, same_picture
from services.storage import MissingObject, get_storage
from services.visits.evidence import (
    NOTICE,
    SERIOUS,
    WARNING,
    EvidenceContext,
    evidence_sentence,
    grade_by_ratio,
    photo_numbers_of,
    reused_visit_ids,
)

# A visit ending this far after the server received it cannot be right: the phone's clock is fast.
# (Validation refuses anything beyond VISIT_MAX_FUTURE; between the two the record is kept but flagged.)
END_AFTER_RECEIPT_TOLERANCE = timedelta(minutes=1)
# Two check-ins a moment apart would imply an infinite speed from GPS jitter alone; the gap is
# counted as at least this long.
MIN_TRAVEL_GAP = timedelta(minutes=1)
# Bounds the work of the near-duplicate check when a band value is very common (e.g. blank images).
MAX_REUSE_CANDIDATES = 200
# A common picture (a blank wall) can match thousands of visits: evidence lists the most recent few
# and counts the rest, so a warning stays the same size however often the picture was used.
MAX_LISTED_MATCHES = 10
# visit_warnings.message is varchar(255); messages are built short, this is the last guard.
MAX_MESSAGE_LENGTH = 255
# Bounds of the search for cropped copies: photos looked at (by hash), and pictures compared (~50 ms each).
MAX_SCOPED_CANDIDATES = 3000
MAX_VERIFIED_CANDIDATES = 6

logger = logging.getLogger(__name__)


def compute_warnings(visit: Visit, photos: Sequence[Photo], config: Mapping,
                     *, received_at: datetime | None = None) -> list[VisitWarning]:
    """Every authenticity warning the visit earns, unsaved; thresholds come from config.

    `photos` are the visit's photos in order; `received_at` is when the server got this submission
    (defaults to the visit's received_at; a resubmission passes its own time).
    """
    received_at = received_at or visit.received_at
    checks = (
        lambda: _far_from_home(visit, config),
        lambda: _poor_accuracy(visit, config),
        lambda: _photo_far(visit, photos, config),
        lambda: _photo_old(visit, photos, config, received_at),
        lambda: _photo_reused(visit, photos, config),
        lambda: _fast_travel(visit, config),
        lambda: _too_short(visit, config),
        lambda: _clock_skew(visit, config, received_at),
        lambda: _mock_location(visit),
    )
    warnings = []
    for check in checks:
        try:
            warning = check()
        except Exception:  # a broken check must not cost the worker their check-in
            logger.exception("authenticity check failed on visit %s; skipped", visit.id)
            continue
        if warning is not None:
            warnings.append(warning)
    # The stored message is the Chinese sentence of the evidence (services.visits.evidence), graded by how
    # far past its threshold the evidence is, so a 10,000 km jump never looks like a 301 m one.
    context = EvidenceContext(language="zh", timezone=config.get("TIMEZONE", "Asia/Shanghai"),
                              photo_numbers=photo_numbers_of(photos))
    for warning in warnings:
        try:
            warning.severity = grade_warning(warning.code, warning.evidence)
            warning.message = evidence_sentence(warning.code, warning.evidence, context)[:MAX_MESSAGE_LENGTH]
        except Exception:  # the check's own short message stays: wording must not cost a check-in either
            logger.exception("could not word the %s warning of visit %s", warning.code, visit.id)
    return warnings


def _largest(items, key: str) -> float:
    return max((item.get(key) or 0 for item in items if isinstance(item, Mapping)), default=0)


def grade_warning(code: str, evidence: Mapping) -> int:
    """How serious a warning is (NOTICE, WARNING, SERIOUS) by how far its evidence is past the threshold.

    A photo 301 m from the check-in is a notice; one 10,000 km away is serious. Codes with no measure
    to scale (a reported mock location, a byte-identical photo) are serious outright.
    """
    evidence = evidence or {}

    def ratio(value, threshold) -> float:
        return float(value or 0) / float(threshold) if threshold else 0.0

    if code == "far_from_home":
        return grade_by_ratio(ratio(evidence.get("distance_m"), evidence.get("threshold_m")), 3, 10)
    if code == "photo_far":
        return grade_by_ratio(ratio(_largest(evidence.get("photos") or [], "distance_m"),
                                    evidence.get("threshold_m")), 3, 10)
    if code == "poor_accuracy":
        return grade_by_ratio(ratio(evidence.get("accuracy_m"), evidence.get("threshold_m")), 2, 5)
    if code == "fast_travel":
        return grade_by_ratio(ratio(evidence.get("speed_kmh"), evidence.get("threshold_kmh")), 2, 5)
    if code == "photo_old":
        photos = evidence.get("photos") or []
        if _largest(photos, "hours_after_receipt") > 0:
            return SERIOUS if _largest(photos, "hours_after_receipt") > 24 else WARNING
        # Within a day of the window: a notice; up to a week (12 h window): a warning; older: serious.
        return grade_by_ratio(ratio(_largest(photos, "hours_before_start"), evidence.get("window_hours")), 2, 14)
    if code == "photo_reused":
        matches = [item for item in evidence.get("matches") or [] if isinstance(item, Mapping)]
        if any(item.get("match") == "sha256" for item in matches) or len(reused_visit_ids(evidence)) >= 3:
            return SERIOUS
        return WARNING
    if code == "too_short":
        # The threshold over the duration: half the minimum is a notice, a sixth a warning, less serious.
        duration = float(evidence.get("duration_minutes") or 0)
        minimum = float(evidence.get("threshold_minutes") or 0)
        return grade_by_ratio(minimum / duration if duration > 0 else float("inf"), 2, 6)
    if code == "clock_skew":
        skew = max(abs(float(evidence.get("skew_minutes") or 0)),
                   abs(float(evidence.get("ended_after_receipt_minutes") or 0)))
        return grade_by_ratio(ratio(skew, evidence.get("threshold_minutes")), 3, 30)
    if code == "mock_location":
        return SERIOUS
    return NOTICE


def apply_warnings(visit: Visit, photos: Sequence[Photo], config: Mapping,
                   *, received_at: datetime | None = None) -> list[VisitWarning]:
    """Replace the visit's warnings with freshly computed ones, update its queue summary, and flush.

    The visit is flushed first; its warnings are written in a savepoint: if the database refuses them,
    the failure is logged and the visit is kept without them.
    """
    warnings = compute_warnings(visit, photos, config, received_at=received_at)
    if not warnings:
        # Nothing to insert, nothing the database could refuse: no savepoint (two statements a check-in).
        _set_warnings(visit, warnings)
        return warnings
    # The visit goes first, its queue summary already set (no UPDATE after): a refused warning must not
    # take the check-in along with it.
    visit.warning_count = len(warnings)
    visit.warning_severity = max(warning.severity for warning in warnings)
    db.session.flush()
    try:
        with db.session.begin_nested():
            visit.warnings = warnings
    except SQLAlchemyError:
        logger.exception("could not store the warnings of visit %s; kept without them", visit.id)
        # The savepoint's rollback expired the visit; what it held before is reloaded, minus the warnings.
        warnings = []
        with db.session.begin_nested():
            _set_warnings(visit, warnings)
    return warnings


def _set_warnings(visit: Visit, warnings: list[VisitWarning]) -> None:
    visit.warnings = warnings
    visit.warning_count = len(warnings)
    visit.warning_severity = max((warning.severity for warning in warnings), default=0)


def _warning(code: str, message: str, evidence: dict) -> VisitWarning:
    if len(message) > MAX_MESSAGE_LENGTH:
        message = message[:MAX_MESSAGE_LENGTH - 1] + "…"
    return VisitWarning(code=code, severity=WARNING_CODES[code]["severity"], message=message, evidence=evidence)


def _has_location(visit: Visit) -> bool:
    return visit.latitude is not None and visit.longitude is not None


def _checkin(visit: Visit) -> dict:
    return {"lat": visit.latitude, "lon": visit.longitude, "accuracy_m": visit.accuracy_m,
            "sent": {"lat": visit.sent_latitude, "lon": visit.sent_longitude, "coord_type": visit.coord_type}}


def _far_from_home(visit: Visit, config: Mapping) -> VisitWarning | None:
    threshold = config["WARN_FAR_FROM_HOME_M"]
    if visit.distance_from_home_m is None or visit.distance_from_home_m <= threshold:
        return None
    beneficiary = visit.beneficiary
    distance = round(visit.distance_from_home_m)
    return _warning("far_from_home", f"签到位置距服务对象登记住址 {distance} 米（阈值 {threshold:g} 米）", {
        "distance_m": distance,
        "threshold_m": threshold,
        "home": {"lat": beneficiary.home_latitude, "lon": beneficiary.home_longitude,
                 "beneficiary_id": beneficiary.id},
        "checkin": _checkin(visit),
    })


def _poor_accuracy(visit: Visit, config: Mapping) -> VisitWarning | None:
    threshold = config["WARN_POOR_ACCURACY_M"]
    if visit.accuracy_m is None or visit.accuracy_m <= threshold:
        return None
    accuracy = round(visit.accuracy_m)
    return _warning("poor_accuracy", f"定位精度 {accuracy} 米，超过 {threshold:g} 米",
                    {"accuracy_m": accuracy, "threshold_m": threshold, "checkin": _checkin(visit)})


def _photo_far(visit: Visit, photos: Sequence[Photo], config: Mapping) -> VisitWarning | None:
    if not _has_location(visit):
        return None
    threshold = config["WARN_PHOTO_FAR_M"]
    far = []
    for photo in photos:
        if photo.gps_latitude is None or photo.gps_longitude is None:
            continue
        # EXIF GPS is WGS-84, as is visit.latitude/longitude: the comparison is like for like.
        distance = distance_m(visit.latitude, visit.longitude, photo.gps_latitude, photo.gps_longitude)
        if distance > threshold:
            far.append({"photo_id": photo.id, "distance_m": round(distance),
                        "gps": {"lat": photo.gps_latitude, "lon": photo.gps_longitude}})
    if not far:
        return None
    farthest = max(item["distance_m"] for item in far)
    return _warning("photo_far", f"{len(far)} 张照片的拍摄位置距签到位置超过 {threshold:g} 米（最远 {farthest} 米）",
                    {"threshold_m": threshold, "checkin": _checkin(visit), "photos": far})


def _photo_old(visit: Visit, photos: Sequence[Photo], config: Mapping,
               received_at: datetime) -> VisitWarning | None:
    window = config["WARN_PHOTO_OLD"]
    earliest = visit.started_at - window
    out_of_window = []
    for photo in photos:
        if photo.taken_at is None:
            continue
        if photo.taken_at < earliest:
            hours = (visit.started_at - photo.taken_at).total_seconds() / 3600
            out_of_window.append({"photo_id": photo.id,
                                  "taken_at": photo.taken_at.isoformat(), "hours_before_start": round(hours, 1),
                                  "taken_at_has_offset": photo.taken_at_has_offset})
        elif photo.taken_at > received_at:
            hours = (photo.taken_at - received_at).total_seconds() / 3600
            out_of_window.append({"photo_id": photo.id,
                                  "taken_at": photo.taken_at.isoformat(), "hours_after_receipt": round(hours, 1),
                                  "taken_at_has_offset": photo.taken_at_has_offset})
    if not out_of_window:
        return None
    window_hours = window.total_seconds() / 3600
    return _warning("photo_old",
                    f"{len(out_of_window)} 张照片的拍摄时间早于走访开始 {window_hours:g} 小时以上或晚于提交时间",
                    {"window_hours": window_hours, "started_at": visit.started_at.isoformat(),
                     "received_at": received_at.isoformat(), "photos": out_of_window})


def _photo_reused(visit: Visit, photos: Sequence[Photo], config: Mapping) -> VisitWarning | None:
    """Same bytes or a near-identical image in another visit, anyone's, found through indexed columns only.

    Evidence lists the most recent matches (MAX_LISTED_MATCHES) with ids and times and counts the
    other visits; the count is a lower bound when the candidates were cut at MAX_REUSE_CANDIDATES.
    """
    if not photos:
        return None
    max_distance = config["WARN_PHASH_DISTANCE"]
    hashed = [photo for photo in photos if photo.phash]
    conditions = [Photo.sha256.in_({photo.sha256 for photo in photos})]
    # Two 64-bit hashes within Hamming distance 3 agree on at least one of the four 16-bit bands.
    for band in range(4):
        column = getattr(Photo, f"phash_band{band}")
        values = {getattr(photo, f"phash_band{band}") for photo in hashed} - {None}
        if values:
            conditions.append(column.in_(values))
    # Newest first, so the matches listed are the most recent ones.
    banded = (
        select(Photo.id, Photo.visit_id, Photo.sha256, Photo.phash, Photo.thumb_key, Visit.started_at,
               literal("banded").label("found"))
        .join(Visit, Visit.id == Photo.visit_id)
        .where(Photo.visit_id != visit.id, or_(*conditions))
        .order_by(Photo.id.desc())
        .limit(MAX_REUSE_CANDIDATES)
    )
    # One statement for both stages: the check-in path counts its statements.
    rows = db.session.execute(
        union_all(banded.subquery().select(), _scoped_candidates(visit, config).subquery().select())
    ).all()
    candidates = [row for row in rows if row.found == "banded"]
    scoped = [row for row in rows if row.found == "scoped"]
    matches = []
    for candidate in candidates:
        for photo in photos:
            if candidate.sha256 == photo.sha256:
                match, distance = "sha256", 0
            elif photo.phash and candidate.phash:
                distance = phash_distance(photo.phash, candidate.phash)
                if distance > max_distance:
                    continue
                match = "phash"
            else:
                continue
            matches.append({"photo_id": photo.id, "match": match, "phash_distance": distance,
                            "other_photo_id": candidate.id, "other_visit_id": candidate.visit_id,
                            "other_started_at": candidate.started_at.isoformat()})
    matches += _cropped_copies(photos, scoped, already={(m["photo_id"], m["other_photo_id"]) for m in matches})
    if not matches:
        return None
    other_visits = list(dict.fromkeys(match["other_visit_id"] for match in matches))
    count_is_lower_bound = len(candidates) == MAX_REUSE_CANDIDATES
    listed = other_visits[:MAX_LISTED_MATCHES]
    shown = "、".join(f"#{visit_id}" for visit_id in listed[:3]) + ("等" if len(other_visits) > 3 else "")
    count = f"{'至少 ' if count_is_lower_bound else ''}{len(other_visits)}"
    return _warning("photo_reused", f"照片与其他 {count} 条走访记录（{shown}）中的照片相同或几乎相同", {
        "max_phash_distance": max_distance,
        "other_visit_count": len(other_visits),
        "count_is_lower_bound": count_is_lower_bound,
        "other_visit_ids": listed,
        "matches": matches[:MAX_LISTED_MATCHES],
    })


def _scoped_candidates(visit: Visit, config: Mapping):
    """Where a re-use happens: photos of the same station's visits of the last WARN_REUSE_SCOPE_DAYS and of
    the same beneficiary's visits, newest first, at most MAX_SCOPED_CANDIDATES."""
    since = visit.received_at - timedelta(days=config.get("WARN_REUSE_SCOPE_DAYS", 120))
    scope = or_(and_(Visit.station_id == visit.station_id, Visit.received_at >= since),
                Visit.beneficiary_id == visit.beneficiary_id if visit.beneficiary_id is not None else false())
    return (
        select(Photo.id, Photo.visit_id, Photo.sha256, Photo.phash, Photo.thumb_key, Visit.started_at,
               literal("scoped").label("found"))
        .join(Visit, Visit.id == Photo.visit_id)
        .where(Visit.id != visit.id, Photo.phash.is_not(None), scope)
        .order_by(Photo.id.desc())
        .limit(MAX_SCOPED_CANDIDATES)
    )


def _cropped_copies(photos: Sequence[Photo], candidates, *, already: set) -> list[dict]:
    """Re-used photos the banded index cannot see: lightly cropped and re-saved copies (hash distance 4–16).

    Among the scoped candidates, the closest few are verified on the thumbnails (services.photos.similarity),
    so an honest new photo of the same doorway is not taken for a copy.
    """
    hashed = [photo for photo in photos if photo.phash]
    if not hashed or not candidates:
        return []
    close = sorted(
        ((phash_distance(photo.phash, candidate.phash), photo, candidate)
         for photo in hashed for candidate in candidates
         if (photo.id, candidate.id) not in already and hash_is_near(photo.phash, candidate.phash)),
        key=lambda item: (item[0], -item[2].id),
    )[:MAX_VERIFIED_CANDIDATES]
    storage = get_storage()
    thumbs: dict[str, bytes | None] = {}

    def thumb(key: str) -> bytes | None:
        if key not in thumbs:
            try:
                thumbs[key] = storage.get(key)
            except MissingObject:
                thumbs[key] = None
        return thumbs[key]

    found = []
    for distance, photo, candidate in close:
        mine, theirs = thumb(photo.thumb_key), thumb(candidate.thumb_key)
        if mine is None or theirs is None or not same_picture(mine, theirs):
            continue
        found.append({"photo_id": photo.id, "match": "cropped", "phash_distance": distance,
                      "other_photo_id": candidate.id, "other_visit_id": candidate.visit_id,
                      "other_started_at": candidate.started_at.isoformat()})
    return found


def _fast_travel(visit: Visit, config: Mapping) -> VisitWarning | None:
    if not _has_location(visit):
        return None
    previous = db.session.scalar(
        select(Visit)
        .where(Visit.worker_id == visit.worker_id, Visit.id != visit.id, Visit.latitude.is_not(None),
               Visit.started_at <= visit.started_at)
        .order_by(Visit.started_at.desc(), Visit.id.desc())
        .limit(1)
    )
    if previous is None:
        return None
    threshold = config["WARN_FAST_TRAVEL_KMH"]
    distance = distance_m(previous.latitude, previous.longitude, visit.latitude, visit.longitude)
    gap = max(visit.started_at - previous.ended_at, MIN_TRAVEL_GAP)
    speed_kmh = (distance / 1000) / (gap.total_seconds() / 3600)
    if speed_kmh <= threshold:
        return None
    return _warning("fast_travel",
                    f"距上一次走访 {distance / 1000:.1f} 公里、间隔 {gap.total_seconds() / 60:.0f} 分钟，"
                    f"折合 {speed_kmh:.0f} 公里/小时（阈值 {threshold:g}）", {
                        "speed_kmh": round(speed_kmh, 1),
                        "threshold_kmh": threshold,
                        "distance_m": round(distance),
                        "gap_minutes": round(gap.total_seconds() / 60, 1),
                        "previous_visit": {"id": previous.id,
                                           "ended_at": previous.ended_at.isoformat(),
                                           "lat": previous.latitude, "lon": previous.longitude},
                        "checkin": _checkin(visit),
                    })


def _too_short(visit: Visit, config: Mapping) -> VisitWarning | None:
    minimum = config["WARN_TOO_SHORT"]
    duration = visit.ended_at - visit.started_at
    if visit.kind != "home_visit" or duration >= minimum:
        return None
    minutes = duration.total_seconds() / 60
    minimum_minutes = minimum.total_seconds() / 60
    return _warning("too_short", f"入户走访仅 {minutes:.1f} 分钟（不少于 {minimum_minutes:g} 分钟）",
                    {"duration_minutes": round(minutes, 1), "threshold_minutes": minimum_minutes,
                     "started_at": visit.started_at.isoformat(), "ended_at": visit.ended_at.isoformat()})


def _clock_skew(visit: Visit, config: Mapping, received_at: datetime) -> VisitWarning | None:
    tolerance = config["WARN_CLOCK_SKEW"]
    evidence: dict = {"received_at": received_at.isoformat(), "threshold_minutes": tolerance.total_seconds() / 60}
    reasons = []
    if visit.client_sent_at is not None:
        skew = (visit.client_sent_at - received_at).total_seconds()
        if abs(skew) > tolerance.total_seconds():
            evidence.update(client_sent_at=visit.client_sent_at.isoformat(), skew_minutes=round(skew / 60, 1))
            reasons.append(f"手机时间与服务器相差 {abs(skew) / 60:.0f} 分钟")
    ahead = (visit.ended_at - received_at).total_seconds()
    if ahead > END_AFTER_RECEIPT_TOLERANCE.total_seconds():
        evidence.update(ended_at=visit.ended_at.isoformat(), ended_after_receipt_minutes=round(ahead / 60, 1))
        reasons.append(f"结束时间晚于服务器收到时间 {ahead / 60:.1f} 分钟")
    if not reasons:
        return None
    return _warning("clock_skew", "；".join(reasons), evidence)


def _mock_location(visit: Visit) -> VisitWarning | None:
    if not visit.mock_location:
        return None
    return _warning("mock_location", "手机报告使用了模拟定位", {"mock_location": True, "checkin": _checkin(visit)})
