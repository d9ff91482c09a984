"""The helpers every admin template may call, registered once on the app's Jinja environment by init_admin.

Codes become words here, in the page's language: times in the configured zone, distances, ages, shares,
vocabulary labels, warning badges and the dashboard's periods.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from admin.i18n import enum_label, html_lang, list_separator
from models.enums import (
    BENEFICIARY_CATEGORIES,
    BENEFICIARY_STATUSES,
    COORD_TYPES,
    DOMAINS,
    FINDING_AREAS,
    FINDING_VALUES,
    NEEDS,
    REVIEW_ACTIONS,
    SERVICES,
    VISIT_KINDS,
    VISIT_STATUSES,
    WARNING_CODES,
)
from services.localtime import time_zone
from services.permissions import MAX_REVEAL_REASON_LENGTH
from services.reporting.schedules import local_date

# Bootstrap badge colour per warning severity (3 is the most serious).
SEVERITY_BADGES = {3: "badge-danger", 2: "badge-warning", 1: "badge-info"}
# The dashboard's periods (services.reporting.dashboard.PERIODS) as the page names them.
PERIOD_LABELS = {"today": lazy_gettext("Today"), "week": lazy_gettext("This week"), "month": lazy_gettext("This month")}
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


def warning_badge(warning) -> Markup:
    """A coloured badge naming a warning."""
    css = SEVERITY_BADGES.get(warning.severity, "badge-secondary")
    return Markup('<span class="badge {}" title="{}">{}</span>').format(
        css, warning.message, enum_label(WARNING_CODES, warning.code)
    )


def template_helpers() -> dict:
    """The names admin templates use, for jinja_env.globals."""
    return {
        "html_lang": html_lang, "label": enum_label, "list_separator": list_separator, "vocab": VOCABULARIES,
        "local_time": local_time, "local_date": local_date, "distance_text": distance_text,
        "duration_text": duration_text, "percent": percent, "period_label": period_label,
        "categories": categories_text, "warning_badge": warning_badge,
        "reveal_reason_limit": MAX_REVEAL_REASON_LENGTH,
    }
