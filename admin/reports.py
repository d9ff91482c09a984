"""Dashboard, the bureau's report (page and downloads) and the visit-schedule editor.

The views parse their input with marshmallow, call one function of services.dashboard,
services.reports or services.schedules, and render the result; scoping is decided there.
"""

from __future__ import annotations

import calendar
from datetime import date

from babel.dates import format_skeleton
from flask import Response, abort, current_app, request, url_for
from flask_admin import Admin, expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import get_locale, gettext, lazy_gettext
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema
from wtforms import validators

from admin.base import AdminOnlyModelView, SecureView, call_service
from admin.i18n import enum_label
from admin.identity import acting_user
from admin.messages import service_error_text
from extensions import db
from models import Beneficiary, CategorySchedule, Region, utcnow
from models.enums import BENEFICIARY_CATEGORIES, REGION_LEVELS, BeneficiaryStatus
from services.errors import NotFound, ServiceError
from services.permissions import can_manage_organisation
from services.reporting.dashboard import build_dashboard, station_schedule
from services.reporting.reports import (
    FIGURE_COLUMNS,
    Report,
    ReportScope,
    build_report,
    report_csv,
    report_scopes,
    report_xlsx,
)
from services.reporting.schedules import (
    MAX_INTERVAL_DAYS,
    MIN_INTERVAL_DAYS,
    ensure_category_schedules,
    local_date,
    set_category_interval,
)

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOWNLOADS = {"xlsx": XLSX_MIME, "csv": "text/csv; charset=utf-8"}
# The report table's headers per figure (services.reporting.reports.FIGURE_COLUMNS names). The downloads keep
# the service's Chinese headers: they are filed with the bureau, whose forms are in Chinese whatever the page shows.
FIGURE_LABELS = {
    "approved_visits": lazy_gettext("Approved visit records"),
    "home_visit_person_times": lazy_gettext("Home visits (person-times)"),
    "case_services": lazy_gettext("Case services"),
    "community_activities": lazy_gettext("Community activities (sessions)"),
    "policy_outreach": lazy_gettext("Policy outreach (times)"),
    "hardship_assistance": lazy_gettext("Hardship assistance (times)"),
    "care_calls": lazy_gettext("Phone/video check-ins (times)"),
    "disaster_relief_hours": lazy_gettext("Flood and disaster relief (hours)"),
    "epidemic_response_hours": lazy_gettext("Epidemic response (hours)"),
    "people_served": lazy_gettext("Beneficiaries served (people)"),
    "registered": lazy_gettext("Registered beneficiaries (people)"),
    "registered_served": lazy_gettext("Of whom served (people)"),
    "registry_coverage": lazy_gettext("Beneficiary coverage"),
    "villages": lazy_gettext("Villages/communities"),
    "villages_with_point": lazy_gettext("Villages/communities with a service point"),
    "village_coverage": lazy_gettext("Service point coverage"),
}


def report_columns() -> list[tuple[str, str, str]]:
    """(name, header, number format) of the report table's figures, headers in the current language."""
    return [(name, str(FIGURE_LABELS[name]), number_format) for name, _download_header, number_format in FIGURE_COLUMNS]


# The scope picker's level words: a city, a county or a station (services.reporting.reports.ReportScope.level).
SCOPE_LEVEL_LABELS = {"station": lazy_gettext("Station")}


def scope_label(scope: ReportScope) -> str:
    """A scope as the picker lists it: 茂南区（县/区）, 甲镇社工站（社工站） — County/district, Station in English."""
    level = SCOPE_LEVEL_LABELS.get(scope.level)
    level = str(level) if level is not None else enum_label(REGION_LEVELS, scope.level)
    return gettext("%(name)s (%(level)s)", name=scope.name, level=level)


def period_text(report: Report) -> str:
    """The report's period in the page's language: 2026年11月 / November 2026 for a calendar month, else a range."""
    locale = get_locale()
    if report.month is not None:
        return format_skeleton("yMMMM", report.month, locale=locale)
    if report.start.year == report.end.year:
        return gettext("%(start)s to %(end)s, %(year)d", year=report.start.year,
                       start=format_skeleton("MMMd", report.start, locale=locale),
                       end=format_skeleton("MMMd", report.end, locale=locale))
    return gettext("%(start)s to %(end)s", start=format_skeleton("yMMMd", report.start, locale=locale),
                   end=format_skeleton("yMMMd", report.end, locale=locale))


def report_title(report: Report) -> str:
    """The page's title of a report: its scope and period, e.g. 茂南区 社会工作服务统计 2026年11月."""
    scope = report.region.name if report.region is not None else gettext("All stations")
    return gettext("%(scope)s social work service statistics, %(period)s", scope=scope, period=period_text(report))


class ReportQuerySchema(Schema):
    """The report form: a month (YYYY-MM) or a date range (local dates, inclusive), a region code, the format.

    A month, when given, is the range from its first to its last day; the page has one form for each.
    """

    class Meta:
        unknown = EXCLUDE

    # The field errors are the page's (marshmallow's own are English whatever the page's language).
    month = fields.String(validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$",
                                                   error=lazy_gettext("Choose a month (for example 2026-11).")),
                          load_default=None)
    start = fields.Date(load_default=None)
    end = fields.Date(load_default=None)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # In the request's language; a lazy string here would not be wrapped in a list by marshmallow.
        for name in ("start", "end"):
            self.fields[name].error_messages = {**self.fields[name].error_messages,
                                                "invalid": gettext("Not a valid date.")}
    region = fields.String(validate=validate.Length(max=32), load_default=None)
    format = fields.String(validate=validate.OneOf(["html", *DOWNLOADS]), load_default="html")

    @pre_load
    def drop_blank(self, data, **kwargs):
        return {key: value for key, value in data.items() if str(value).strip() != ""}

    @validates_schema
    def a_month_or_a_range(self, data, **kwargs):
        if data.get("month"):
            return
        missing = {name: [gettext("Choose a month or both dates.")] for name in ("start", "end") if not data.get(name)}
        if missing:
            raise ValidationError(missing)
        if data["end"] < data["start"]:
            raise ValidationError(gettext("The end date may not be before the start date."), field_name="end")

    @post_load
    def month_as_range(self, data, **kwargs):
        if data.get("month"):
            year, month = (int(part) for part in data["month"].split("-"))
            data["start"] = date(year, month, 1)
            data["end"] = date(year, month, calendar.monthrange(year, month)[1])
        return data


def filtered_list_url(endpoint: str, column, value: str) -> str | None:
    """The link to a model list of this admin filtered on `column == value` (its own FilterEqual), or None.

    Flask-Admin names a filter in the URL by its position among the view's filters (flt0_0=...): the
    position is looked up, so a filter added before it later does not break the dashboard's links.
    """
    for admin in current_app.extensions.get("admin", []):
        for view in admin._views:
            if view.endpoint != endpoint:
                continue
            for arg, (_index, list_filter) in (getattr(view, "_filter_args", None) or {}).items():
                if isinstance(list_filter, FilterEqual) and list_filter.column is column:
                    return url_for(f"{endpoint}.index_view", **{f"flt0_{arg}": value})
    return None


class DashboardView(SecureView):
    """The scoped dashboard: periods, coverages, overdue people, worker activity, charts.

    Every figure links to the list it summarises: the review queue with its filters, the registry,
    or a station's schedule page (who is behind schedule there).
    """

    @expose("/")
    def index(self):
        user = acting_user()
        # The regions list is the admins' (a supervisor's villages have no list of their own to open).
        villages_url = filtered_list_url("regions", Region.level, "village") if can_manage_organisation(user) else None
        return self.render("admin/reports/dashboard.html", dashboard=build_dashboard(user), villages_url=villages_url,
                           registered_url=filtered_list_url("beneficiaries", Beneficiary.status,
                                                            BeneficiaryStatus.ACTIVE.value))

    @expose("/station/<int:station_id>")
    def station(self, station_id: int):
        """One station's visits on schedule and the people behind schedule, most overdue first."""
        try:
            schedule = station_schedule(acting_user(), station_id)
        except NotFound:
            abort(404)
        return self.render("admin/reports/station_schedule.html", schedule=schedule)


class ReportView(SecureView):
    """The report form, its result table, and the XLSX / CSV downloads of the same report."""

    @expose("/")
    def index(self):
        today = local_date(utcnow())
        arguments = request.args.to_dict()
        if not any(arguments.get(name) for name in ("month", "start", "end")):
            # This month so far.
            arguments.update(start=today.replace(day=1).isoformat(), end=today.isoformat())
        user = acting_user()
        scopes = report_scopes(user)
        try:
            query = ReportQuerySchema().load(arguments)
            report = build_report(user, query["start"], query["end"], query["region"])
        except ValidationError as error:
            return self._form(arguments, scopes, errors=error.messages), 422
        except ServiceError as error:
            return self._form(arguments, scopes, errors={"region": [service_error_text(error)]}), error.status
        if query["format"] in DOWNLOADS:
            return self._download(report, query["format"])
        # Both forms show the report's period: its month (when it is one) and its first and last day.
        arguments.update(start=report.start.isoformat(), end=report.end.isoformat(),
                         month=f"{report.month:%Y-%m}" if report.month else "")
        return self._form(arguments, scopes, report=report)

    def _form(self, arguments: dict, scopes, report=None, errors=None):
        return self.render("admin/reports/report.html", arguments=arguments,
                           scopes=[(scope.code, scope_label(scope)) for scope in scopes], report=report,
                           title=report_title(report) if report else None, errors=errors or {},
                           columns=report_columns())

    @staticmethod
    def _download(report, file_format: str) -> Response:
        content = report_xlsx(report) if file_format == "xlsx" else report_csv(report)
        filename = f"report-{report.start:%Y%m%d}-{report.end:%Y%m%d}.{file_format}"
        return Response(content, mimetype=DOWNLOADS[file_format],
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "Cache-Control": "no-store"})


class CategoryScheduleView(AdminOnlyModelView):
    """Visit intervals (走访周期): the required interval of each category, edited by admins (changes are audited)."""

    can_create = False
    column_list = ("category", "interval_days", "updated_at")
    column_labels = {"category": lazy_gettext("Beneficiary category"),
                     "interval_days": lazy_gettext("Visit interval (days)"), "updated_at": lazy_gettext("Modified")}
    column_formatters = {"category": lambda _view, _context, model, _name: enum_label(BENEFICIARY_CATEGORIES,
                                                                                       model.category)}
    column_default_sort = "id"
    form_columns = ("interval_days",)
    form_args = {"interval_days": {"label": lazy_gettext("Visit interval (days)"),
                                   "validators": [validators.InputRequired(),
                                                  validators.NumberRange(MIN_INTERVAL_DAYS, MAX_INTERVAL_DAYS)]}}

    @expose("/")
    def index_view(self):
        # Every category is listed (with its default) so an admin can edit any of them.
        ensure_category_schedules()
        return super().index_view()

    def update_model(self, form, model) -> bool:
        return call_service(set_category_interval, model.category, form.interval_days.data,
                            acting_user()) is not False


def add_report_views(admin: Admin) -> None:
    """Register the dashboard, the report page and the schedule editor on this app's Admin."""
    admin.add_view(DashboardView(name=lazy_gettext("Dashboard"), endpoint="dashboard", url="/admin/dashboard"))
    admin.add_view(ReportView(name=lazy_gettext("Reports"), endpoint="reports", url="/admin/reports"))
    admin.add_view(CategoryScheduleView(CategorySchedule, db, name=lazy_gettext("Visit intervals"),
                                        endpoint="schedules", url="/admin/schedules"))
