"""Supervisor review: the queue, the record page and the review actions.

Every view parses its input, calls one function of services.review (or services.photo_delivery) and
renders the result; who may see or do what is decided there, never here.
"""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import Admin, expose
from flask_admin.actions import ActionsMixin, action
from flask_babel import gettext, lazy_gettext, pgettext
from flask_login import current_user
from flask_wtf import FlaskForm
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate
from wtforms import HiddenField

from admin.base import CsrfForm, SecureView, flash_service_error
from admin.templating import evidence_context
from models.enums import VISIT_KINDS, VISIT_STATUSES, WARNING_CODES
from services.errors import Invalid, NotFound, ServiceError
from services.photos.delivery import photo_variant_response
from services.visits.review import (
    DEFAULT_QUEUE_STATUS,
    QueueFilters,
    bulk_approve,
    next_to_review,
    review_queue_page,
    review_record,
    review_visit,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
QUEUE_PAGE_SIZE = 50
# The queue's status filter value for "every status" (a blank status is the default, pending review).
ANY_STATUS = "any"
MAX_COMMENT_LENGTH = 2000
REVIEW_ACTION_DONE = {
    "approve": lazy_gettext("Visit record #%(id)d approved"),
    "reject": lazy_gettext("Visit record #%(id)d marked as rejected"),
    "return": lazy_gettext("Visit record #%(id)d returned for more information"),
    "reopen": lazy_gettext("Visit record #%(id)d reopened"),
}
# Why a bulk approval left a visit alone (services.visits.review.BulkReport.skipped's keys), as the reviewer reads it.
SKIP_REASON_LABELS = {
    "has_warnings": lazy_gettext("has warnings"),
    "not_submitted": lazy_gettext("not pending review"),
    "own_visit": lazy_gettext("a visit you took part in"),
    "not_found": lazy_gettext("not found or outside your stations"),
    "changed_meanwhile": lazy_gettext("already handled by someone else"),
}
# The record page's map legend, per services.visits.review.MapPoint kind.
MAP_POINT_LABELS = {"checkin": lazy_gettext("Check-in location"), "home": lazy_gettext("Registered address")}


def _drop_blank_values(data):
    # HTML forms send "" for an untouched select or input: treat it as not given.
    return {key: value for key, value in data.items() if str(value).strip() != ""}


class QueueQuerySchema(Schema):
    """The queue's filters and page, from the query string."""

    class Meta:
        unknown = EXCLUDE

    station = fields.Integer(validate=validate.Range(min=1))
    worker = fields.Integer(validate=validate.Range(min=1))
    kind = fields.String(validate=validate.OneOf(list(VISIT_KINDS)))
    # ANY_STATUS lists every status (the dashboard's "submitted today" counts visits in any state now).
    status = fields.String(validate=validate.OneOf([*VISIT_STATUSES, ANY_STATUS]), load_default=DEFAULT_QUEUE_STATUS)
    received_from = fields.Date()
    received_to = fields.Date()
    reviewed_from = fields.Date()
    has_warnings = fields.Boolean()
    warning_code = fields.String(validate=validate.OneOf(list(WARNING_CODES)))
    q = fields.String(validate=validate.Length(max=64))
    # Keyset cursors of the pages after and before the one shown (services.visits.review.review_queue_page).
    after = fields.String(validate=validate.Length(max=512))
    before = fields.String(validate=validate.Length(max=512))

    @pre_load
    def drop_blank(self, data, **kwargs):
        return _drop_blank_values(data)

    @post_load
    def to_filters(self, data, **kwargs):
        filters = QueueFilters(
            station_id=data.get("station"), worker_id=data.get("worker"), kind=data.get("kind"),
            status=None if data["status"] == ANY_STATUS else data["status"], received_from=data.get("received_from"),
            received_to=data.get("received_to"), reviewed_from=data.get("reviewed_from"),
            has_warnings=data.get("has_warnings"), warning_code=data.get("warning_code"),
            beneficiary_name=data.get("q"),
        )
        return filters, {"after": data.get("after"), "before": data.get("before")}


class ReviewActionSchema(Schema):
    """The comment (or reopen reason) of a review action; whether it is required is the workflow's rule."""

    class Meta:
        unknown = EXCLUDE

    comment = fields.String(validate=validate.Length(max=MAX_COMMENT_LENGTH), load_default=None)


class BulkApproveSchema(Schema):
    visit_ids = fields.List(fields.Integer(), required=True)


class ActionForm(FlaskForm):
    action = HiddenField()


def bulk_summary(report) -> str:
    """One line for the reviewer, e.g. 已通过 47 条，跳过 3 条（有预警 3 条）."""
    if not report.skipped:
        return gettext("%(approved)d approved", approved=len(report.approved))
    reasons = pgettext("clauses", ", ").join(
        gettext("%(reason)s: %(count)d", reason=SKIP_REASON_LABELS.get(reason, reason), count=count)
        for reason, count in sorted(report.skipped.items()))
    return gettext("%(approved)d approved, %(skipped)d skipped (%(reasons)s)", approved=len(report.approved),
                   skipped=report.skipped_total, reasons=reasons)


def map_point_label(point) -> str:
    """The legend of a map point in the current language (photos keep their number on the page)."""
    if point.kind == "photo":
        return gettext("Photo %(number)d", number=point.number)
    return str(MAP_POINT_LABELS[point.kind])


class ReviewQueueView(SecureView, ActionsMixin):
    """The review queue (a supervisor's home), the record page and the review actions."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.init_actions()

    # Flask-Admin's ActionsMixin asks the view for its action form and how to validate it.
    def action_form(self):
        return ActionForm()

    def validate_form(self, form) -> bool:
        return form.validate_on_submit()

    @expose("/")
    def index(self):
        """The queue: submitted visits of the reviewer's stations, warned first."""
        status = 200
        try:
            filters, cursors = QueueQuerySchema().load(request.args)
            queue = review_queue_page(current_user, filters, page_size=QUEUE_PAGE_SIZE, **cursors)
        except (ValidationError, Invalid) as error:
            problems = error.messages if isinstance(error, ValidationError) else error.fields
            flash(gettext("Invalid filters: %(fields)s", fields=", ".join(sorted(problems))), "error")
            filters, status = QueueFilters(), 400
            queue = review_queue_page(current_user, filters, page_size=QUEUE_PAGE_SIZE)
        actions, confirmations = self.get_actions_list()
        return self.render("admin/review/queue.html", queue=queue, filters=filters, actions=actions,
                           confirmations=confirmations, action_form=ActionForm(),
                           page_url=lambda page: self._page_url(queue, page)), status

    @staticmethod
    def _page_url(queue, page: int) -> str:
        """The link to the page just before or after the one shown, by its keyset cursor."""
        args = {key: value for key, value in request.args.to_dict().items() if key not in ("after", "before")}
        if page == queue.page + 1 and queue.next_cursor:
            args["after"] = queue.next_cursor
        elif page == queue.page - 1 and queue.previous_cursor:
            args["before"] = queue.previous_cursor
        return url_for(".index", **args)

    @expose("/action/", methods=("POST",))
    def action_view(self):
        """Run a list action (bulk approve) on the ticked rows."""
        return self.handle_action(return_view="index")

    @action("bulk_approve", lazy_gettext("Approve selected"),
            lazy_gettext("Only pending records without warnings are approved. Continue?"))
    def action_bulk_approve(self, ids):
        try:
            visit_ids = BulkApproveSchema().load({"visit_ids": ids})["visit_ids"]
            report = bulk_approve(current_user, visit_ids)
        except ValidationError:
            flash(gettext("The selected records are not valid."), "error")
            return None
        except ServiceError as error:
            flash_service_error(error)
            return None
        flash(bulk_summary(report), "success" if report.approved else "warning")
        return None

    @expose("/visit/<int:visit_id>")
    def record(self, visit_id: int):
        """The record page of one visit."""
        try:
            record = review_record(current_user, visit_id)
        except NotFound:
            abort(404)
        return self.render("admin/review/record.html", record=record, visit=record.visit, form=CsrfForm(),
                           map_config=self._map_config(record), evidence=evidence_context(record))

    @staticmethod
    def _map_config(record) -> dict:
        config = current_app.config
        return {
            "tileUrl": config["MAP_TILE_URL"],
            "subdomains": config["MAP_TILE_SUBDOMAINS"],
            "attribution": config["MAP_TILE_ATTRIBUTION"],
            "points": [{**point.as_dict(), "label": map_point_label(point)} for point in record.map_points],
        }

    @expose("/visit/<int:visit_id>/<any(approve, reject, return, reopen):review_action>", methods=("POST",))
    def review(self, visit_id: int, review_action: str):
        """Approve, reject, return or reopen one visit, then open the next record of the queue (or stay, if refused)."""
        try:
            comment = ReviewActionSchema().load(request.form)["comment"]
            review_visit(current_user, visit_id, review_action, comment)
        except ValidationError:
            flash(gettext("A comment may not be longer than %(count)d characters.", count=MAX_COMMENT_LENGTH),
                  "error")
        except NotFound:
            abort(404)
        except ServiceError as error:
            flash_service_error(error)
        else:
            flash(str(REVIEW_ACTION_DONE[review_action]) % {"id": visit_id}, "success")
            following = next_to_review(current_user)
            if following is None:
                return redirect(url_for(".index"))
            return redirect(url_for(".record", visit_id=following))
        return redirect(url_for(".record", visit_id=visit_id))

    @expose("/photo/<int:photo_id>/<any(display, thumb):variant>")
    def photo(self, photo_id: int, variant: str):
        """A photo's derived copy, for reviewers allowed to see its visit (others get 404)."""
        try:
            return photo_variant_response(current_user, photo_id, variant)
        except NotFound:
            abort(404)


def add_review_views(admin: Admin) -> None:
    """Register the review views on this app's Admin."""
    admin.add_view(ReviewQueueView(name=lazy_gettext("Review queue"), endpoint="review", url="/admin/review",
                                   static_folder=str(STATIC_DIR), static_url_path="/static"))
