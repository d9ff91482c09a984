"""Exports (visits and the registry as CSV, XLSX, GeoJSON) and the roster import page.

Each view parses its input with marshmallow, calls one function of services.exports or
services.roster_xlsx and renders the result; scoping, masking, auditing and every import rule live there.
"""

from __future__ import annotations

import json

from flask import Response, flash, redirect, request, stream_with_context, url_for
from flask_admin import Admin, expose
from flask_babel import gettext, lazy_gettext, pgettext
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema
from werkzeug.datastructures import FileStorage

from admin.base import CsrfForm, SecureView, flash_service_error
from admin.i18n import list_separator
from admin.identity import acting_user
from admin.messages import roster_field_label, roster_problem_text, roster_value_text
from admin.review import QueueQuerySchema
from models.enums import BENEFICIARY_CATEGORIES, BENEFICIARY_STATUSES, VISIT_STATUSES
from services.errors import NotFound, ServiceError
from services.permissions import ADMIN_ROLES, MAX_REVEAL_REASON_LENGTH, can_export_full_ids
from services.registry.roster_xlsx import check_roster_upload, commit_roster_upload
from services.reporting.exports import (
    EXPORT_FORMATS,
    BeneficiaryExportFilters,
    export_beneficiaries,
    export_visits,
)
from services.visits.review import QueueFilters, queue_filter_choices

FORMAT_LABELS = {"csv": "CSV", "xlsx": "Excel", "geojson": lazy_gettext("GeoJSON (map)")}


class VisitExportSchema(QueueQuerySchema):
    """The review queue's filters (blank status = every status) and the file format."""

    status = fields.String(validate=validate.OneOf(list(VISIT_STATUSES)), load_default=None)
    format = fields.String(required=True, validate=validate.OneOf(EXPORT_FORMATS))

    @post_load
    def to_filters(self, data, **kwargs):
        filters, _page = super().to_filters(data, **kwargs)
        return filters, data["format"]


class BeneficiaryExportSchema(Schema):
    """Which people to export, the format, and whether (and why) full ID numbers are wanted."""

    class Meta:
        unknown = EXCLUDE

    station = fields.Integer(validate=validate.Range(min=1), load_default=None)
    category = fields.String(validate=validate.OneOf(list(BENEFICIARY_CATEGORIES)), load_default=None)
    status = fields.String(validate=validate.OneOf(list(BENEFICIARY_STATUSES)), load_default=None)
    format = fields.String(required=True, validate=validate.OneOf(EXPORT_FORMATS))
    full_id_numbers = fields.Boolean(load_default=False)
    reason = fields.String(validate=validate.Length(max=MAX_REVEAL_REASON_LENGTH), load_default=None)

    @pre_load
    def drop_blank(self, data, **kwargs):
        return {key: value for key, value in data.items() if str(value).strip() != ""}

    @post_load
    def to_request(self, data, **kwargs):
        filters = BeneficiaryExportFilters(station_id=data["station"], category=data["category"],
                                           status=data["status"])
        return filters, data["format"], data["full_id_numbers"], data["reason"]


class RosterUploadSchema(Schema):
    """The uploaded roster file (multipart field `file`)."""

    class Meta:
        unknown = EXCLUDE

    file = fields.Raw(load_default=None)

    @validates_schema
    def a_file_is_chosen(self, data, **kwargs):
        # A schema-level check (not `required`) so the message is translated when it is raised, not at import.
        value = data.get("file")
        if not isinstance(value, FileStorage) or not value.filename:
            raise ValidationError(gettext("Choose a roster file (.xlsx or .csv)"), field_name="file")


class _ServicePointKey(fields.Field):
    """A ticked new village: the JSON pair [station code, village name] the check step put in its checkbox."""

    def _deserialize(self, value, _attr, _data, **_kwargs):
        try:
            short = isinstance(value, str) and len(value) <= MAX_SERVICE_POINT_KEY_LENGTH
            pair = json.loads(value) if short else None
        except ValueError:
            pair = None
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)):
            raise ValidationError(gettext("Not a valid service point."))
        return pair[0], pair[1]


MAX_SERVICE_POINT_KEY_LENGTH = 256
MAX_CONFIRMED_SERVICE_POINTS = 10_000


class RosterCommitSchema(Schema):
    """The token of the staged, already checked roster, and the new villages ticked to be created."""

    class Meta:
        unknown = EXCLUDE

    token = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{32}$"))
    service_points = fields.List(_ServicePointKey(), load_default=list,
                                 validate=validate.Length(max=MAX_CONFIRMED_SERVICE_POINTS))


def _download(export) -> Response:
    response = Response(stream_with_context(export.chunks), mimetype=export.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _messages(error: ValidationError) -> str:
    return pgettext("clauses", "; ").join(
        gettext("%(field)s: %(messages)s", field=field, messages=list_separator().join(map(str, messages)))
        for field, messages in sorted(error.messages.items()))


class ExportsView(SecureView):
    """The exports page: visits under the review queue's filters, and the registry, in the user's scope."""

    def _page(self, status: int = 200, filters: QueueFilters | None = None):
        station_choices, worker_choices = queue_filter_choices(current_user)
        return self.render("admin/exports/index.html", form=CsrfForm(), filters=filters or QueueFilters(status=None),
                           station_choices=station_choices, worker_choices=worker_choices, formats=FORMAT_LABELS,
                           may_export_full_ids=can_export_full_ids(acting_user())), status

    @expose("/")
    def index(self):
        """The two export forms."""
        return self._page()

    @expose("/visits", methods=("POST",))
    def visits(self):
        """Stream the visits under the chosen filters in the chosen format."""
        try:
            filters, export_format = VisitExportSchema().load(request.form)
        except ValidationError as error:
            flash(gettext("Invalid filters: %(fields)s", fields=_messages(error)), "error")
            return self._page(400)
        return _download(export_visits(current_user, filters, export_format))

    @expose("/beneficiaries", methods=("POST",))
    def beneficiaries(self):
        """Stream the registry (ID numbers masked unless an admin asks, with a reason)."""
        try:
            filters, export_format, full_id_numbers, reason = BeneficiaryExportSchema().load(request.form)
            export = export_beneficiaries(current_user, filters, export_format, full_id_numbers=full_id_numbers,
                                          reason=reason)
        except ValidationError as error:
            flash(gettext("Invalid export conditions: %(fields)s", fields=_messages(error)), "error")
            return self._page(400)
        except ServiceError as error:
            flash_service_error(error)
            return self._page(error.status)
        return _download(export)


class RosterImportView(SecureView):
    """Roster import: upload → dry run (every bad row; new villages to confirm; what changes per person) →
    confirm → all rows written, or none."""

    allowed_roles = ADMIN_ROLES

    def _page(self, report=None, token=None, status: int = 200, **context):
        """The page; the report's problems, changes and new villages worded in the page's language."""
        return self.render("admin/exports/roster_import.html", form=CsrfForm(), report=report, token=token,
                           problems=self._worded_problems(report), changes=self._worded_changes(report),
                           **context), status

    @expose("/")
    def index(self):
        """The upload form."""
        return self._page()

    @expose("/check", methods=("POST",))
    def check(self):
        """Dry-run the uploaded file and show what it would do, or every problem."""
        try:
            upload = RosterUploadSchema().load(request.files)["file"]
            report, token = check_roster_upload(upload.read(), current_user)
        except ValidationError as error:
            flash(_messages(error), "error")
            return self._page(status=400)
        except ServiceError as error:
            flash_service_error(error)
            return self._page(status=error.status)
        return self._page(report, token, 200 if report.ok else 422, filename=upload.filename, confirmed=set())

    @expose("/commit", methods=("POST",))
    def commit(self):
        """Write the checked file (checked again; nothing is written if it has become bad meanwhile, or if a
        village it would create is not ticked)."""
        try:
            sent = RosterCommitSchema().load({"token": request.form.get("token"),
                                              "service_points": request.form.getlist("service_point")})
            confirmed = set(sent["service_points"])
            report = commit_roster_upload(sent["token"], current_user, confirmed)
        except (ValidationError, NotFound):
            flash(gettext("The file to import is gone or has expired; please upload it again."), "error")
            return redirect(url_for(".index"))
        except ServiceError as error:
            flash_service_error(error)
            return redirect(url_for(".index"))
        if not report.ok:
            return self._page(report, status=422)
        if report.refused:
            names = list_separator().join(point.village for point in report.unconfirmed_service_points)
            flash(gettext("Nothing was imported: tick each new service point to create it, or correct the "
                          "village in the file and upload it again (not ticked: %(names)s).", names=names), "error")
            return self._page(report, sent["token"], 422, confirmed=confirmed)
        flash(gettext("Imported: %(created)d added, %(updated)d updated, %(unchanged)d unchanged.",
                      created=report.created, updated=report.updated, unchanged=report.unchanged), "success")
        return self._page(report, committed=True)

    @staticmethod
    def _worded_problems(report) -> list[dict]:
        if report is None:
            return []
        return [{"line": problem.line, "column": problem.column, "code": problem.code,
                 "text": roster_problem_text(problem)} for problem in report.errors]

    @staticmethod
    def _worded_changes(report) -> list[dict]:
        if report is None:
            return []
        return [{"line": person.line, "name": person.name, "id_number": person.id_number_masked,
                 "fields": [{"field": change.field, "label": roster_field_label(change.field),
                             "old": roster_value_text(change.field, change.old),
                             "new": roster_value_text(change.field, change.new)} for change in person.changes]}
                for person in report.changes]


def add_export_views(admin: Admin) -> None:
    """Register the exports page and the roster import page on this app's Admin."""
    admin.add_view(ExportsView(name=lazy_gettext("Exports"), endpoint="exports", url="/admin/exports"))
    admin.add_view(RosterImportView(name=lazy_gettext("Import roster"), endpoint="roster_import",
                                    url="/admin/roster-import"))


__all__ = ["add_export_views"]
