"""Dashboard, the bureau's report (page and downloads) and the visit-schedule editor.

The views parse their input with marshmallow, call one function of services.dashboard,
services.reports or services.schedules, and render the result; scoping is decided there.
"""

from __future__ import annotations

from flask import Response, request
from flask_admin import Admin, expose
from flask_babel import gettext, lazy_gettext
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema
from wtforms import validators

from admin.base import AdminOnlyModelView, SecureView, acting_user, call_service
from admin.i18n import enum_label
from admin.messages import service_error_text
from extensions import db
from models import CategorySchedule, utcnow
from models.enums import BENEFICIARY_CATEGORIES
from services.errors import ServiceError
from services.reporting.dashboard import build_dashboard
from services.reporting.reports import FIGURE_COLUMNS, build_report, report_csv, report_scopes, report_xlsx
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


class ReportQuerySchema(Schema):
    """The report form: a date range (local dates, inclusive), a region code and the output format."""

    class Meta:
        unknown = EXCLUDE

    start = fields.Date(required=True)
    end = fields.Date(required=True)
    region = fields.String(validate=validate.Length(max=32), load_default=None)
    format = fields.String(validate=validate.OneOf(["html", *DOWNLOADS]), load_default="html")

    @pre_load
    def drop_blank(self, data, **kwargs):
        return {key: value for key, value in data.items() if str(value).strip() != ""}

    @validates_schema
    def end_not_before_start(self, data, **kwargs):
        if data["end"] < data["start"]:
            raise ValidationError(gettext("The end date may not be before the start date."), field_name="end")


class DashboardView(SecureView):
    """The scoped dashboard: periods, coverages, overdue people, worker activity, charts."""

    @expose("/")
    def index(self):
        return self.render("admin/reports/dashboard.html", dashboard=build_dashboard(acting_user()))


class ReportView(SecureView):
    """The report form, its result table, and the XLSX / CSV downloads of the same report."""

    @expose("/")
    def index(self):
        today = local_date(utcnow())
        arguments = {"start": today.replace(day=1).isoformat(), "end": today.isoformat(), **request.args.to_dict()}
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
        return self._form(arguments, scopes, report=report)

    def _form(self, arguments: dict, scopes, report=None, errors=None):
        return self.render("admin/reports/report.html", arguments=arguments, scopes=scopes, report=report,
                           errors=errors or {}, columns=report_columns())

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
    column_formatters = {"category": lambda view, context, model, name: enum_label(BENEFICIARY_CATEGORIES,
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
