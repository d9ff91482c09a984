"""The helpers every admin template may call, registered once on the app's Jinja environment by init_admin.

Codes become words here, in the page's language: times in the configured zone, distances, ages, shares,
vocabulary labels, warning badges and the dashboard's periods.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import get_locale, gettext, lazy_gettext, pgettext
from markupsafe import Markup

from admin.i18n import enum_label, html_lang, list_separator
from models.enums import (
    AUDIT_DETAIL_KEYS,
    AUDIT_OBJECT_TYPES,
    BENEFICIARY_CATEGORIES,
    BENEFICIARY_STATUSES,
    COORD_TYPES,
    DOMAINS,
    FINDING_AREAS,
    FINDING_VALUES,
    LOGIN_METHODS,
    NEEDS,
    REVIEW_ACTIONS,
    RISK_TIERS,
    ROLES,
    SERVICES,
    VISIT_KINDS,
    VISIT_STATUSES,
    WARNING_CODES,
)
from services.localtime import time_zone
from services.permissions import MAX_REVEAL_REASON_LENGTH
from services.reporting.schedules import local_date
from services.visits.evidence import (
    EvidenceContext,
    evidence_sentence,
    grade_label,
    local_time_words,
    photo_numbers_of,
)

# Bootstrap badge colour per warning severity (3 is the most serious).
SEVERITY_BADGES = {3: "badge-danger", 2: "badge-warning", 1: "badge-info"}
# The dashboard's periods (services.reporting.dashboard.PERIODS) as the page names them.
PERIOD_LABELS = {"today": lazy_gettext("Today"), "week": lazy_gettext("This week"), "month": lazy_gettext("This month")}
# The revision snapshot's fields (services.visits.submission.SNAPSHOT_FIELDS) as the "what changed" list names them.
SNAPSHOT_FIELD_LABELS = {
    "beneficiary_id": lazy_gettext("Beneficiary"), "kind": lazy_gettext("Kind"), "services": lazy_gettext("Services"),
    "domains": lazy_gettext("Service domains"), "started_at": lazy_gettext("Start"), "ended_at": lazy_gettext("End"),
    "latitude": lazy_gettext("Latitude"), "longitude": lazy_gettext("Longitude"),
    "accuracy_m": lazy_gettext("Location accuracy (m)"), "notes": lazy_gettext("Notes"),
    "findings": lazy_gettext("Findings"), "needs": lazy_gettext("Needs"),
    "follow_up_needed": lazy_gettext("Follow-up needed"), "follow_up_due": lazy_gettext("Follow-up by"),
    "photo_consent": lazy_gettext("Consented to photos"), "people_count": lazy_gettext("People served"),
}
# The vocabularies templates list and label, by the name they use.
VOCABULARIES = {
    "kinds": VISIT_KINDS, "statuses": VISIT_STATUSES, "warnings": WARNING_CODES, "services": SERVICES,
    "domains": DOMAINS, "needs": NEEDS, "areas": FINDING_AREAS, "finding_values": FINDING_VALUES,
    "review_actions": REVIEW_ACTIONS, "coord_types": COORD_TYPES, "categories": BENEFICIARY_CATEGORIES,
    "beneficiary_statuses": BENEFICIARY_STATUSES,
}


def local_time(value: datetime | None) -> str:
    """A stored UTC timestamp as local minutes (Asia/Shanghai by default); naive values as they are."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(time_zone())
    return value.strftime("%Y-%m-%d %H:%M")


def distance_text(metres: float | None) -> str:
    """A distance for people: 85 米, 1.2 公里 (85 m, 1.2 km in English)."""
    if metres is None:
        return "—"
    if metres < 1000:
        return gettext("%(metres).0f m", metres=metres)
    return gettext("%(kilometres).1f km", kilometres=metres / 1000)


def duration_text(age: timedelta | None) -> str:
    """An age for people: 3 天 4 小时, 25 分钟 (3 d 4 h, 25 min in English)."""
    if age is None:
        return "—"
    hours = int(age.total_seconds() // 3600)
    if hours >= 24:
        return gettext("%(days)d d %(hours)d h", days=hours // 24, hours=hours % 24)
    if hours:
        return gettext("%(hours)d h", hours=hours)
    return gettext("%(minutes)d min", minutes=int(age.total_seconds() // 60))


def percent(value: float | None) -> str:
    """A share for people: 62.5%, or — when there is nothing to divide by."""
    return "—" if value is None else f"{value * 100:.1f}%"


def period_label(period) -> str:
    """The name of a dashboard period (today, this week, this month) in the current language."""
    return str(PERIOD_LABELS[period.key])


def categories_text(beneficiary) -> str:
    """A person's categories by their labels, joined as the language joins a list."""
    return list_separator().join(enum_label(BENEFICIARY_CATEGORIES, code) for code in beneficiary.categories)


def _ui_language() -> str:
    return "en" if str(get_locale() or "").startswith("en") else "zh"


def evidence_context(record=None) -> EvidenceContext:
    """How evidence sentences read on a page: UI language, local zone; on a record, its photo numbers and the
    other visits its warnings name (services.visits.review.ReviewRecord)."""
    zone = current_app.config["TIMEZONE"]
    if record is None:
        return EvidenceContext(language=_ui_language(), timezone=zone)
    return EvidenceContext(language=_ui_language(), timezone=zone,
                           photo_numbers=photo_numbers_of(record.visit.photos), related=record.related)


def warning_text(warning, context: EvidenceContext | None = None) -> str:
    """The warning's evidence as one sentence in the UI language, e.g. 打卡位置距登记住址 1.8 公里（定位精度 12 米）."""
    return evidence_sentence(warning.code, warning.evidence, context or evidence_context())


def grade_name(severity: int | None) -> str:
    """提示 / 警告 / 严重 (Notice / Warning / Serious)."""
    return grade_label(severity, _ui_language())


def warning_badge(warning, context: EvidenceContext | None = None) -> Markup:
    """A badge coloured and labelled by the warning's grade, naming the warning; the sentence as its tooltip."""
    css = SEVERITY_BADGES.get(warning.severity, "badge-secondary")
    return Markup('<span class="badge {} review-grade-{}" title="{}">{} · {}</span>').format(
        css, warning.severity, warning_text(warning, context), grade_name(warning.severity),
        enum_label(WARNING_CODES, warning.code)
    )


def snapshot_value(name: str, value) -> str:
    """A value of a revision snapshot (JSON) as the reviewer reads it: labels, local times, yes/no."""
    vocabularies = {"kind": VISIT_KINDS, "services": SERVICES, "domains": DOMAINS, "needs": NEEDS}
    if value in (None, "", [], {}):
        return "—"
    if name in vocabularies:
        items = value if isinstance(value, list) else [value]
        return list_separator().join(enum_label(vocabularies[name], item) for item in items)
    if name in ("started_at", "ended_at"):
        return local_time_words(value, evidence_context())
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if name == "findings" and isinstance(value, dict):
        return pgettext("clauses", ", ").join(
            f"{enum_label(FINDING_AREAS, area)}: {enum_label(FINDING_VALUES, (item or {}).get('value'))}"
            + (f" ({item['note']})" if (item or {}).get("note") else "")
            for area, item in value.items())
    if isinstance(value, float):
        return f"{value:.6f}" if name in ("latitude", "longitude") else f"{value:g}"
    return str(value)


# Audit details whose values are codes of a vocabulary, by their key.
AUDIT_VALUE_VOCABULARIES = {
    "review_action": REVIEW_ACTIONS, "from_status": VISIT_STATUSES, "to_status": VISIT_STATUSES,
    "status": {**VISIT_STATUSES, **BENEFICIARY_STATUSES}, "role": ROLES,
    "category": BENEFICIARY_CATEGORIES, "categories": BENEFICIARY_CATEGORIES,
    "kind": VISIT_KINDS, "warning_code": WARNING_CODES, "risk_tier": RISK_TIERS, "dataset": AUDIT_OBJECT_TYPES,
    "method": LOGIN_METHODS,
}


AUDIT_KEY_POSITIONS = {key: position for position, key in enumerate(AUDIT_DETAIL_KEYS)}


def audit_detail_lines(details: dict | None) -> list[str]:
    """An audit event's details as lines in the UI language: 审核操作：通过, 完整身份证号：否 (Review action: Approved).

    Services store codes; keys and coded values are labelled here, times shown local, yes/no as words; a key
    nobody labelled is shown as it is. Empty values (a review without a comment) are left out.
    """
    shown = [(key, value) for key, value in (details or {}).items() if value not in (None, "")]
    return [_audit_pair(key, value) for key, value in sorted(shown, key=_audit_key_order)]


def _audit_key_order(item) -> tuple[int, str]:
    # In the vocabulary's order (the action first, then what it was about, before then after); unknown keys last.
    key = item[0]
    return (AUDIT_KEY_POSITIONS.get(key, len(AUDIT_KEY_POSITIONS)), key)


def _audit_pair(key: str, value) -> str:
    return gettext("%(label)s: %(value)s", label=enum_label(AUDIT_DETAIL_KEYS, key), value=_audit_value(key, value))


def _audit_value(key: str, value) -> str:
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, dict):
        return pgettext("clauses", ", ").join(_audit_pair(name, item) for name, item in value.items()
                                              if item not in (None, ""))
    if isinstance(value, list):
        if not value:
            return "—"
        return list_separator().join(_audit_value(key, item) for item in value)
    if key == "fields":
        return enum_label(AUDIT_DETAIL_KEYS, value)
    if key in AUDIT_VALUE_VOCABULARIES and isinstance(value, str):
        return enum_label(AUDIT_VALUE_VOCABULARIES[key], value)
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:  # an ISO time stored by a service: shown local, as every time on the site
            return local_time(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def template_helpers() -> dict:
    """The names admin templates use, for jinja_env.globals."""
    return {
        "html_lang": html_lang, "label": enum_label, "list_separator": list_separator, "vocab": VOCABULARIES,
        "local_time": local_time, "local_date": local_date, "distance_text": distance_text,
        "duration_text": duration_text, "percent": percent, "period_label": period_label,
        "categories": categories_text, "warning_badge": warning_badge, "warning_text": warning_text,
        "grade_name": grade_name, "snapshot_value": snapshot_value, "field_labels": SNAPSHOT_FIELD_LABELS,
        "reveal_reason_limit": MAX_REVEAL_REASON_LENGTH, "audit_detail_lines": audit_detail_lines,
    }
