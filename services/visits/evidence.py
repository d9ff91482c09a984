"""The evidence of an authenticity warning as a sentence a supervisor reads at a glance.

Warnings store their evidence as data (numbers, UTC ISO times, ids); this module is the one place
that turns it into words: one template per warning code, in Chinese (the default) or English, times
in the local zone (Asia/Shanghai), distances in m or km with a sensible precision. The admin's record
page and the API's warning `message` both come from here.

Stored evidence changes shape over time (older rows, new fields), so every template reads it with
.get() and leaves out what is missing rather than failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from models.enums import WARNING_CODES

DEFAULT_TIMEZONE = "Asia/Shanghai"
# How many other visits a reuse sentence names before saying "and N more".
MAX_NAMED_VISITS = 3

# Grades of a warning: how far past its threshold the evidence is (stored as VisitWarning.severity).
NOTICE, WARNING, SERIOUS = 1, 2, 3
GRADES = {
    NOTICE: {"zh": "提示", "en": "Notice"},
    WARNING: {"zh": "警告", "en": "Warning"},
    SERIOUS: {"zh": "严重", "en": "Serious"},
}


@dataclass(frozen=True)
class RelatedVisit:
    """What a sentence may say about another visit the evidence points at (only if the reader may see it)."""

    id: int
    beneficiary_name: str | None = None
    worker_name: str | None = None
    started_at: datetime | None = None


@dataclass
class EvidenceContext:
    """What the sentences need beyond the evidence: language, zone, photo numbers, other visits' facts."""

    language: str = "zh"
    timezone: str = DEFAULT_TIMEZONE
    # photo id → its number on the record (1-based), so "照片 2" matches the page.
    photo_numbers: Mapping[int, int] = field(default_factory=dict)
    related: Mapping[int, RelatedVisit] = field(default_factory=dict)

    @property
    def english(self) -> bool:
        return self.language.startswith("en")


def grade_label(severity: int | None, language: str = "zh") -> str:
    """The name of a grade (提示 / 警告 / 严重) in the language."""
    entry = GRADES.get(severity or NOTICE, GRADES[NOTICE])
    return entry["en" if language.startswith("en") else "zh"]


def grade_by_ratio(ratio: float, warning_above: float, serious_above: float) -> int:
    """The grade of a measure that is `ratio` times its threshold (ratio > 1 once the warning fires)."""
    if ratio > serious_above:
        return SERIOUS
    if ratio > warning_above:
        return WARNING
    return NOTICE


def distance_words(metres, language: str = "zh") -> str:
    """850 米, 1.8 公里, 18 公里, 10358 公里 (850 m, 1.8 km, 18 km, 10,358 km in English)."""
    english = language.startswith("en")
    if metres is None:
        return "—"
    metres = float(metres)
    if metres < 1000:
        value = f"{round(metres):d}"
        return f"{value} m" if english else f"{value} 米"
    kilometres = metres / 1000
    if kilometres < 10:
        value = f"{kilometres:.1f}"
    elif english:
        value = f"{round(kilometres):,d}"
    else:
        value = f"{round(kilometres):d}"
    return f"{value} km" if english else f"{value} 公里"


def _duration_words(hours, language: str) -> str:
    english = language.startswith("en")
    hours = abs(float(hours))
    if hours < 1:
        minutes = max(1, round(hours * 60))
        return f"{minutes} min" if english else f"{minutes} 分钟"
    if hours < 48:
        value = f"{hours:.0f}" if hours >= 10 else f"{hours:.1f}".rstrip("0").rstrip(".")
        return f"{value} h" if english else f"{value} 小时"
    days = round(hours / 24)
    return f"{days} days" if english else f"{days} 天"


def _minutes_words(minutes, language: str) -> str:
    english = language.startswith("en")
    minutes = abs(float(minutes))
    if minutes < 1:
        seconds = round(minutes * 60)
        return f"{seconds} s" if english else f"{seconds} 秒"
    if minutes >= 90:
        return _duration_words(minutes / 60, language)
    value = f"{minutes:.0f}" if minutes >= 10 else f"{minutes:.1f}".rstrip("0").rstrip(".")
    return f"{value} min" if english else f"{value} 分钟"


def _parse_time(value) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_time_words(value, context: EvidenceContext) -> str:
    """A stored UTC time as the reader's local 2026-11-28 14:02 (empty when missing or unreadable)."""
    moment = _parse_time(value)
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(context.timezone)).strftime("%Y-%m-%d %H:%M")


def local_date_words(value, context: EvidenceContext) -> str:
    """A day in the reader's zone, short: 11月2日 (2 Nov), with the year when it is not this year."""
    moment = _parse_time(value)
    if moment is None:
        return ""
    zone = ZoneInfo(context.timezone)
    day: date = moment.astimezone(zone).date()
    this_year = datetime.now(zone).year
    if context.english:
        text = f"{day.day} {day:%b}"
        return text if day.year == this_year else f"{text} {day.year}"
    text = f"{day.month}月{day.day}日"
    return text if day.year == this_year else f"{day.year}年{text}"


def _photo_words(photo_id, context: EvidenceContext) -> str:
    number = context.photo_numbers.get(photo_id) if photo_id is not None else None
    if context.english:
        return f"photo {number}" if number else "a photo"
    return f"照片 {number}" if number else "照片"


def _zh_spaced(text: str) -> str:
    """Chinese after a number or a Latin word gets a space (照片 2 拍摄于), after Chinese or a bracket none."""
    return f"{text} " if text and text[-1].isascii() and text[-1].isalnum() else text


def _threshold(evidence: Mapping, key: str, default=None):
    value = evidence.get(key, default)
    return value if isinstance(value, int | float) else default


def _far_from_home(evidence: Mapping, context: EvidenceContext) -> str:
    language = context.language
    distance = distance_words(evidence.get("distance_m"), language)
    accuracy = (evidence.get("checkin") or {}).get("accuracy_m")
    if context.english:
        text = f"Check-in {distance} from the registered address"
        return text + (f" (accuracy {distance_words(accuracy, language)})" if accuracy is not None else "")
    text = f"打卡位置距登记住址 {distance}"
    return text + (f"（定位精度 {distance_words(accuracy, language)}）" if accuracy is not None else "")


def _poor_accuracy(evidence: Mapping, context: EvidenceContext) -> str:
    language = context.language
    accuracy = distance_words(evidence.get("accuracy_m"), language)
    limit = _threshold(evidence, "threshold_m")
    if context.english:
        return f"Location accurate only to {accuracy}" + (
            f" (limit {distance_words(limit, language)})" if limit is not None else "")
    limit_words = f"（要求 {distance_words(limit, language)}以内）" if limit is not None else ""
    return f"定位精度只有 {accuracy}{limit_words}"


def _photo_far(evidence: Mapping, context: EvidenceContext) -> str:
    photos = [item for item in evidence.get("photos") or [] if isinstance(item, Mapping)]
    if not photos:
        return "Photo taken far from the check-in" if context.english else "照片拍摄位置远离打卡位置"
    farthest = max(photos, key=lambda item: item.get("distance_m") or 0)
    distance = distance_words(farthest.get("distance_m"), context.language)
    photo = _photo_words(farthest.get("photo_id"), context)
    if context.english:
        text = f"{photo[0].upper()}{photo[1:]} was taken {distance} from the check-in"
        return text + (f" ({len(photos)} photos far away)" if len(photos) > 1 else "")
    text = f"{_zh_spaced(photo)}的拍摄位置距打卡位置 {distance}"
    return text + (f"（共 {len(photos)} 张照片偏离）" if len(photos) > 1 else "")


def _photo_old(evidence: Mapping, context: EvidenceContext) -> str:
    photos = [item for item in evidence.get("photos") or [] if isinstance(item, Mapping)]
    clauses = []
    for item in photos[:MAX_NAMED_VISITS]:
        photo = _photo_words(item.get("photo_id"), context)
        taken = local_time_words(item.get("taken_at"), context)
        no_zone = item.get("taken_at_has_offset") is False
        if item.get("hours_after_receipt") is not None:
            gap = _duration_words(item["hours_after_receipt"], context.language)
            clauses.append(f"{photo} was taken {gap} after the record was received" if context.english
                           else f"{_zh_spaced(photo)}拍摄于提交之后 {gap}")
        else:
            gap = _duration_words(item.get("hours_before_start") or 0, context.language)
            clauses.append(f"{photo} was taken {gap} before the visit began" if context.english
                           else f"{_zh_spaced(photo)}拍摄于走访开始前 {gap}")
        if taken:
            if context.english:
                clauses[-1] += f" ({taken}{', camera time without zone' if no_zone else ''})"
            else:
                clauses[-1] += f"（{taken}{'，相机时间无时区' if no_zone else ''}）"
    if not clauses:
        return "Photo not taken at the visit" if context.english else "照片不是在走访时拍摄的"
    if context.english:
        text = "; ".join(clauses)
        return (text[0].upper() + text[1:]) + (f"; {len(photos)} photos in all" if len(photos) > len(clauses) else "")
    return "；".join(clauses) + (f"；共 {len(photos)} 张" if len(photos) > len(clauses) else "")


def _reuse_matches(evidence: Mapping) -> list[Mapping]:
    return [item for item in evidence.get("matches") or [] if isinstance(item, Mapping)]


def reused_visit_ids(evidence: Mapping) -> list[int]:
    """The other visits a photo_reused warning points at, newest evidence first, without repeats."""
    ids = [item.get("other_visit_id") for item in _reuse_matches(evidence)]
    ids += list(evidence.get("other_visit_ids") or [])
    return [visit_id for visit_id in dict.fromkeys(ids) if isinstance(visit_id, int)]


def _reuse_total(evidence: Mapping, named: int) -> int:
    for key in ("total_matches", "match_count", "other_visit_count", "total"):
        value = evidence.get(key)
        if isinstance(value, int):
            return max(value, named)
    return named


def _other_visit_words(visit_id: int, match: Mapping, context: EvidenceContext) -> str:
    related = context.related.get(visit_id)
    details = []
    if related is not None and related.beneficiary_name:
        details.append(related.beneficiary_name)
    when = related.started_at if related is not None and related.started_at else None
    if when is None:
        when = next((match.get(key) for key in ("other_started_at", "other_received_at", "other_taken_at")
                     if match.get(key)), None)
    day = local_date_words(when, context)
    if day:
        details.append(day)
    if not details:
        return f"#{visit_id}"
    return f"#{visit_id} ({', '.join(details)})" if context.english else f"#{visit_id}（{'，'.join(details)}）"


def _photo_reused(evidence: Mapping, context: EvidenceContext) -> str:
    matches = _reuse_matches(evidence)
    visit_ids = reused_visit_ids(evidence)
    if not visit_ids:
        return "Photo used in another visit" if context.english else "照片与其他走访记录的照片相同"
    first_match_by_visit: dict[int, Mapping] = {}
    for match in matches:
        first_match_by_visit.setdefault(match.get("other_visit_id"), match)
    identical = any(match.get("match") == "sha256" for match in matches)
    named = visit_ids[:MAX_NAMED_VISITS]
    others = [_other_visit_words(visit_id, first_match_by_visit.get(visit_id, {}), context) for visit_id in named]
    total = _reuse_total(evidence, len(visit_ids))
    photo_ids = list(dict.fromkeys(match.get("photo_id") for match in matches if match.get("photo_id")))
    photo = _photo_words(photo_ids[0], context) if len(photo_ids) == 1 else (
        "Photos" if context.english else "照片")
    if context.english:
        how = "identical to" if identical else "almost the same as"
        text = f"{photo[0].upper()}{photo[1:]} {'is' if len(photo_ids) == 1 else 'are'} {how} the photo of " + \
            ", ".join(others)
        return text + (f" and {total - len(named)} more records" if total > len(named) else "")
    how = "相同" if identical else "几乎相同"
    text = f"{_zh_spaced(photo)}与 {_zh_spaced('、'.join(others))}的照片{how}"
    return text + (f"（另有 {total - len(named)} 条记录）" if total > len(named) else "")


def _fast_travel(evidence: Mapping, context: EvidenceContext) -> str:
    language = context.language
    distance = distance_words(evidence.get("distance_m"), language)
    gap = _minutes_words(evidence.get("gap_minutes") or 0, language)
    speed = evidence.get("speed_kmh")
    previous = evidence.get("previous_visit") or {}
    ended = local_time_words(previous.get("ended_at"), context)
    reference = f"#{previous['id']}" if isinstance(previous.get("id"), int) else ""
    limit = _threshold(evidence, "threshold_kmh")
    if context.english:
        text = f"{distance} from the previous visit {reference}".rstrip()
        text += f" (ended {ended})" if ended else ""
        text += f" in {gap}: {speed:.0f} km/h" if isinstance(speed, int | float) else f" in {gap}"
        return text + (f" (limit {limit:g})" if limit is not None else "")
    text = f"距上一次走访 {reference}".rstrip()
    text += f"（{ended} 结束）" if ended else ""
    text += f" {distance}，间隔 {gap}"
    text += f"，折合每小时 {speed:.0f} 公里" if isinstance(speed, int | float) else ""
    return text + (f"（上限 {limit:g}）" if limit is not None else "")


def _too_short(evidence: Mapping, context: EvidenceContext) -> str:
    duration = _minutes_words(evidence.get("duration_minutes") or 0, context.language)
    limit = _threshold(evidence, "threshold_minutes")
    start, end = local_time_words(evidence.get("started_at"), context), local_time_words(evidence.get("ended_at"),
                                                                                           context)
    span = f"{start}–{end[-5:]}" if start and end else ""
    if context.english:
        text = f"Home visit lasted only {duration}" + (f" ({span})" if span else "")
        return text + (f"; at least {limit:g} min expected" if limit is not None else "")
    text = f"入户走访仅 {duration}" + (f"（{span}）" if span else "")
    return text + (f"，应不少于 {limit:g} 分钟" if limit is not None else "")


def _clock_skew(evidence: Mapping, context: EvidenceContext) -> str:
    clauses = []
    skew = evidence.get("skew_minutes")
    if isinstance(skew, int | float):
        gap = _minutes_words(skew, context.language)
        if context.english:
            clauses.append(f"The phone's clock is {gap} {'ahead of' if skew > 0 else 'behind'} the server's")
        else:
            clauses.append(f"手机时间比服务器{'快' if skew > 0 else '慢'} {gap}")
    ahead = evidence.get("ended_after_receipt_minutes")
    if isinstance(ahead, int | float):
        gap = _minutes_words(ahead, context.language)
        clauses.append(f"the visit ends {gap} after the server received it" if context.english
                       else f"结束时间晚于服务器收到时间 {gap}")
    if not clauses:
        return "Phone clock disagrees with the server" if context.english else "手机时间与服务器不一致"
    if context.english:
        text = "; ".join(clauses)
        return text[0].upper() + text[1:]
    return "；".join(clauses)


def _mock_location(_evidence: Mapping, context: EvidenceContext) -> str:
    return ("The phone reported a mock (simulated) location" if context.english
            else "手机报告使用了模拟定位（虚拟定位软件）")


SENTENCES = {
    "far_from_home": _far_from_home,
    "poor_accuracy": _poor_accuracy,
    "photo_far": _photo_far,
    "photo_old": _photo_old,
    "photo_reused": _photo_reused,
    "fast_travel": _fast_travel,
    "too_short": _too_short,
    "clock_skew": _clock_skew,
    "mock_location": _mock_location,
}


def evidence_sentence(code: str, evidence: Mapping | None, context: EvidenceContext | None = None) -> str:
    """The sentence a reviewer reads for one warning, e.g. 打卡位置距登记住址 1.8 公里（定位精度 12 米）."""
    context = context or EvidenceContext()
    template = SENTENCES.get(code)
    if template is None:
        entry = WARNING_CODES.get(code)
        return entry["en" if context.english else "zh"] if entry else code
    try:
        return template(evidence if isinstance(evidence, Mapping) else {}, context)
    except (TypeError, ValueError, KeyError, AttributeError):
        # Evidence of an unexpected shape still gets a readable line: the warning's name.
        entry = WARNING_CODES[code]
        return entry["en" if context.english else "zh"]


def photo_numbers_of(photos) -> dict[int, int]:
    """photo id → its 1-based number on the record, for the sentences' "照片 2"."""
    return {photo.id: number for number, photo in enumerate(photos, start=1)}
