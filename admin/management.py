"""Management views: users, regions, stations, service points, beneficiaries, audit log.

Admins manage everything; supervisors open the workers and beneficiaries of their own stations read-only.
Every change goes through the same services the API and the CLI use; rows are scoped by services.permissions.
"""


from flask import abort, flash, make_response, redirect, request
from flask_admin import Admin, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.fields import QuerySelectField, QuerySelectMultipleField
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, DateBetweenFilter, FilterEqual
from flask_admin.helpers import get_redirect_target
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import gettext, lazy_gettext, lazy_pgettext, ngettext
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import (
    DateField,
    FloatField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, NumberRange, Optional

from admin.base import (
    AdminEditsModelView,
    AdminOnlyModelView,
    AdminSecureForm,
    call_service,
    flash_service_error,
    record_id_or_404,
    user_is_admin,
)
from admin.i18n import enum_choices, enum_label, list_separator
from admin.identity import acting_user
from admin.templating import audit_detail_lines
from extensions import db
from models import AuditEvent, Beneficiary, Region, ServicePoint, Station, User
from models.enums import (
    AUDIT_ACTIONS,
    AUDIT_OBJECT_TYPES,
    BENEFICIARY_CATEGORIES,
    BENEFICIARY_STATUSES,
    GENDERS,
    REGION_LEVELS,
    RISK_TIERS,
    ROLES,
    Role,
)
from services.accounts.users import (
    MAX_USERNAME_LENGTH,
    create_user,
    deactivate_user,
    reactivate_user,
    set_password,
    update_user,
)
from services.errors import Invalid, NotFound, ServiceError
from services.geo import LATITUDE_RANGE, LONGITUDE_RANGE
from services.permissions import MAX_REVEAL_REASON_LENGTH, can_read_audit_log, scope_beneficiaries, scope_users
from services.registry.people import UNCHANGED, BeneficiaryChanges, reveal_id_number, save_beneficiary
from services.registry.profile import beneficiary_profile
from services.registry.search import id_number_condition
from services.registry.stations import add_station, save_region, save_service_point, update_station

MANAGEMENT = lazy_gettext("Management")


def _stations():
    return db.session.scalars(select(Station).order_by(Station.name)).all()


def _service_points():
    return db.session.scalars(select(ServicePoint).options(joinedload(ServicePoint.station))
                              .order_by(ServicePoint.name)).all()


def _regions():
    return db.session.scalars(select(Region).order_by(Region.code)).all()


def _with_blank(choices_of):
    """Choices with an empty first option, for optional select fields."""
    return lambda: [("", "—"), *choices_of()]


def _label_formatter(vocabulary):
    """A column formatter showing a code by its label in the current language."""
    return lambda _view, _context, model, name: enum_label(vocabulary, getattr(model, name))


class OptionalSelectField(SelectField):
    """A select whose blank first choice stands for an unset (None) column."""

    def process_data(self, value):
        super().process_data("" if value is None else value)


class ScopedQueryMixin:
    """get_query, get_count_query and get_one all pass through one scoping rule of services.permissions.

    A record outside the scope answers 404 (its existence is private), not Flask-Admin's "does not exist" flash.
    """

    # The list's eager loads are chosen in list_options; Flask-Admin's own would clash with them.
    column_auto_select_related = False

    def scope(self, query):
        raise NotImplementedError

    def list_options(self, query):
        """Eager loads for the list's columns, so a page costs a constant number of queries."""
        return query

    def get_query(self):
        return self.list_options(self.scope(super().get_query()))

    def get_count_query(self):
        return self.scope(super().get_count_query())

    def get_one(self, id):
        record_id = record_id_or_404(id)
        record = self.scope(super().get_query()).filter(self.model.id == record_id).one_or_none()
        if record is None:
            abort(404)
        return record


# --- Users -----------------------------------------------------------------------------------------------

class UserEditForm(AdminSecureForm):
    display_name = StringField(lazy_gettext("Display name"), validators=[Length(max=64)])
    phone = StringField(lazy_gettext("Phone"), validators=[Optional(), Length(max=32)])
    role = SelectField(lazy_gettext("Role"), choices=lambda: enum_choices(ROLES), validators=[DataRequired()])
    station = QuerySelectField(lazy_gettext("Station (social worker)"), query_factory=_stations, allow_blank=True)
    supervised_stations = QuerySelectMultipleField(lazy_gettext("Supervised stations (supervisor)"),
                                                   query_factory=_stations)


class UserCreateForm(UserEditForm):
    username = StringField(lazy_gettext("Username"), validators=[DataRequired(), Length(max=MAX_USERNAME_LENGTH)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=256)])


class AccountStatusForm(AdminSecureForm):
    # The state asked for ("1" re-activate, "0" deactivate), not a toggle.
    active = HiddenField(validators=[AnyOf(("0", "1"))])


def _status_message(user: User) -> str:
    if user.active:
        return gettext("The account of %(name)s is active.", name=user.name)
    return gettext("The account of %(name)s is deactivated.", name=user.name)


def _active_formatter(_view, _context, user, _name) -> str:
    return gettext("Active") if user.active else gettext("Deactivated")


class PasswordResetForm(AdminSecureForm):
    password = PasswordField(lazy_gettext("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(lazy_gettext("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password", message=lazy_gettext("Passwords differ"))])


def _station_codes_from(form) -> list[str]:
    """The stations the form gives for the chosen role: a worker's one, a supervisor's several, an admin none."""
    if form.role.data == Role.WORKER:
        return [form.station.data.code] if form.station.data else []
    if form.role.data == Role.SUPERVISOR:
        return [station.code for station in form.supervised_stations.data or []]
    return []


class UserView(ScopedQueryMixin, AdminEditsModelView):
    """Accounts: admins create, edit, deactivate, re-activate and reset passwords; supervisors see their stations'
    workers."""

    column_list = ("username", "display_name", "role", "station", "supervised_stations", "phone", "active",
                   "created_at")
    column_details_list = (*column_list, "updated_at")
    column_searchable_list = ("username", "display_name")
    column_sortable_list = ("username", "display_name", "role", "active", "created_at")
    column_default_sort = "username"
    column_filters = (
        FilterEqual(User.role, lazy_gettext("Role"), options=lambda: enum_choices(ROLES)),
        BooleanEqualFilter(User.active, lazy_gettext("Active")),
    )
    column_labels = {
        "username": lazy_gettext("Username"), "display_name": lazy_gettext("Display name"),
        "role": lazy_gettext("Role"), "station": lazy_gettext("Station"),
        "supervised_stations": lazy_gettext("Supervised stations"), "phone": lazy_gettext("Phone"),
        "active": lazy_gettext("Active"), "created_at": lazy_gettext("Created"), "updated_at": lazy_gettext("Updated"),
    }
    column_formatters = {
        "role": _label_formatter(ROLES),
        "active": _active_formatter,
        "supervised_stations": lambda _v, _c, user, _n: list_separator().join(
            station.name for station in user.supervised_stations),
    }
    details_template = "admin/user_details.html"

    def scope(self, query):
        return scope_users(query, current_user)

    def list_options(self, query):
        return query.options(joinedload(User.station), selectinload(User.supervised_stations))

    def get_create_form(self):
        return UserCreateForm

    def get_edit_form(self):
        return UserEditForm

    @property
    def column_extra_row_actions(self):
        if not user_is_admin():
            return []
        return [EndpointLinkRowAction("fa fa-key", ".reset_password_view", title=gettext("Reset password"))]

    def create_model(self, form):
        return call_service(create_user, form.username.data, form.role.data, form.password.data,
                            display_name=form.display_name.data or "", phone=form.phone.data or None,
                            station_codes=_station_codes_from(form), actor=acting_user(), form=form)

    def update_model(self, form, model):
        return call_service(update_user, model, display_name=form.display_name.data or "",
                            phone=form.phone.data or None, role=form.role.data,
                            station_codes=_station_codes_from(form), actor=acting_user(), form=form) is not False

    def _change_status(self, ids, active: bool) -> int:
        """Deactivate or re-activate the accounts of the ids (each its own unit of work); how many changed."""
        service = reactivate_user if active else deactivate_user
        changed = 0
        for user_id in ids:
            user = self.get_one(user_id)
            if user.active != active and call_service(service, user, actor=acting_user()) is not False:
                changed += 1
        return changed

    @action("deactivate", lazy_gettext("Deactivate"),
            lazy_gettext("Deactivate the selected accounts? Their phone sessions end at once."))
    def action_deactivate(self, ids):
        count = self._change_status(ids, active=False)
        flash(ngettext("%(num)d account deactivated.", "%(num)d accounts deactivated.", count), "success")

    @action("reactivate", lazy_gettext("Re-activate"),
            lazy_gettext("Re-activate the selected accounts? They can log in again."))
    def action_reactivate(self, ids):
        count = self._change_status(ids, active=True)
        flash(ngettext("%(num)d account re-activated.", "%(num)d accounts re-activated.", count), "success")

    @expose("/status/", methods=("GET", "POST"))
    def account_status_view(self):
        """Deactivate or re-activate one account from its own page: a confirmation page, then a POST (CSRF) that
        names the state asked for, so a repeated or stale submission never flips the account back."""
        if not user_is_admin():
            abort(403)
        user = self.get_one(request.args.get("id"))
        form = AccountStatusForm(request.form)
        if request.method == "POST" and form.validate():
            active = form.active.data == "1"
            if user.active == active:
                flash(_status_message(user), "info")
            elif call_service(reactivate_user if active else deactivate_user, user, actor=acting_user()) is not False:
                flash(_status_message(user), "success")
            return redirect(self.get_url(".details_view", id=user.id))
        form.active.data = "0" if user.active else "1"
        return self.render("admin/user_status.html", form=form, user=user)

    @expose("/password/", methods=("GET", "POST"))
    def reset_password_view(self):
        """Set a new password for an account (admins only); its API tokens are revoked by the service."""
        if not user_is_admin():
            abort(403)
        user = self.get_one(request.args.get("id"))
        form = PasswordResetForm(request.form)
        changed = (request.method == "POST" and form.validate()
                   and call_service(set_password, user, form.password.data, actor=acting_user()) is not False)
        if changed:
            flash(gettext("The password of %(name)s was changed.", name=user.name), "success")
            return redirect(self.get_url(".details_view", id=user.id))
        return self.render("admin/password_reset.html", form=form, user=user)


# --- Regions, stations, service points -------------------------------------------------------------------

class RegionView(AdminOnlyModelView):
    """行政区划: created and edited through services.registry.stations.save_region (audited)."""

    column_list = ("code", "name", "level", "parent")
    column_searchable_list = ("code", "name")
    column_filters = (FilterEqual(Region.level, lazy_gettext("Level"), options=lambda: enum_choices(REGION_LEVELS)),)
    column_labels = {"code": lazy_gettext("Code"), "name": lazy_gettext("Name"), "level": lazy_gettext("Level"),
                     "parent": lazy_gettext("Parent region")}
    column_formatters = {"level": _label_formatter(REGION_LEVELS)}
    form_columns = ("code", "name", "level", "parent")
    form_overrides = {"level": SelectField}
    form_args = {"level": {"choices": lambda: enum_choices(REGION_LEVELS), "label": lazy_gettext("Level")}}

    def get_query(self):
        return super().get_query().options(joinedload(Region.parent))

    def _save(self, form, region):
        return call_service(save_region, region, code=form.code.data, name=form.name.data, level=form.level.data,
                            parent=form.parent.data, actor=acting_user())

    def create_model(self, form):
        return self._save(form, None)

    def update_model(self, form, model):
        return self._save(form, model) is not False


class StationForm(AdminSecureForm):
    code = StringField(lazy_gettext("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(lazy_gettext("Name"), validators=[DataRequired(), Length(max=64)])
    region = QuerySelectField(lazy_gettext("Region"), query_factory=_regions, allow_blank=True)
    latitude = FloatField(lazy_gettext("Latitude"), validators=[Optional(), NumberRange(*LATITUDE_RANGE)])
    longitude = FloatField(lazy_gettext("Longitude"), validators=[Optional(), NumberRange(*LONGITUDE_RANGE)])


class StationView(AdminOnlyModelView):
    """社工站: created through services.registry.stations.add_station (which derives the region path from an
    official code, else takes the region chosen) and edited through update_station; both audited."""

    column_list = ("code", "name", "region", "latitude", "longitude", "created_at")
    column_searchable_list = ("code", "name")
    column_labels = {"code": lazy_gettext("Code"), "name": lazy_gettext("Name"), "region": lazy_gettext("Region"),
                     "latitude": lazy_gettext("Latitude"), "longitude": lazy_gettext("Longitude"),
                     "created_at": lazy_gettext("Created")}
    form = StationForm

    def get_query(self):
        return super().get_query().options(joinedload(Station.region))

    def create_model(self, form):
        return call_service(add_station, form.code.data, form.name.data, region=form.region.data,
                            latitude=form.latitude.data, longitude=form.longitude.data, actor=acting_user())

    def update_model(self, form, model):
        return call_service(update_station, model, code=form.code.data, name=form.name.data,
                            region=form.region.data, latitude=form.latitude.data, longitude=form.longitude.data,
                            actor=acting_user()) is not False


class ServicePointView(AdminOnlyModelView):
    """服务点: created and edited through services.registry.stations.save_service_point (audited)."""

    column_list = ("name", "station", "region", "latitude", "longitude")
    column_searchable_list = ("name",)
    column_labels = {"name": lazy_gettext("Name"), "station": lazy_gettext("Station"),
                     "region": lazy_gettext("Region"), "latitude": lazy_gettext("Latitude"),
                     "longitude": lazy_gettext("Longitude")}
    form_columns = ("name", "station", "region", "latitude", "longitude")

    def get_query(self):
        return super().get_query().options(joinedload(ServicePoint.station), joinedload(ServicePoint.region))

    def _save(self, form, point):
        return call_service(save_service_point, point, name=form.name.data, station=form.station.data,
                            region=form.region.data, latitude=form.latitude.data, longitude=form.longitude.data,
                            actor=acting_user())

    def create_model(self, form):
        return self._save(form, None)

    def update_model(self, form, model):
        return self._save(form, model) is not False


# --- Beneficiaries ---------------------------------------------------------------------------------------

class BeneficiaryForm(AdminSecureForm):
    """The registry form; the stored ID number is never put into it, only a new one is accepted."""

    name = StringField(lazy_gettext("Name"), validators=[DataRequired(), Length(max=64)])
    new_id_number = StringField(lazy_gettext("New ID number"), validators=[Optional(), Length(max=18)],
                                description=lazy_gettext("Leave empty to keep the current number."))
    gender = OptionalSelectField(lazy_gettext("Gender"), choices=_with_blank(lambda: enum_choices(GENDERS)),
                                 default="")
    birth_date = DateField(lazy_gettext("Date of birth"), validators=[Optional()])
    categories = SelectMultipleField(lazy_gettext("Categories"),
                                     choices=lambda: enum_choices(BENEFICIARY_CATEGORIES))
    risk_tier = OptionalSelectField(lazy_gettext("Risk tier"),
                                    choices=_with_blank(lambda: enum_choices(RISK_TIERS)), default="")
    station = QuerySelectField(lazy_gettext("Station"), query_factory=_stations, validators=[DataRequired()])
    service_point = QuerySelectField(lazy_gettext("Service point"), query_factory=_service_points,
                                     allow_blank=True)
    address = StringField(lazy_gettext("Address"), validators=[Length(max=255)])
    home_latitude = FloatField(lazy_gettext("Home latitude"), validators=[Optional(), NumberRange(*LATITUDE_RANGE)])
    home_longitude = FloatField(lazy_gettext("Home longitude"), validators=[Optional(), NumberRange(*LONGITUDE_RANGE)])
    phone = StringField(lazy_gettext("Phone"), validators=[Optional(), Length(max=32)])
    status = SelectField(lazy_gettext("Status"), choices=lambda: enum_choices(BENEFICIARY_STATUSES))


class RevealForm(AdminSecureForm):
    reason = TextAreaField(lazy_gettext("Reason"),
                           validators=[DataRequired(), Length(min=2, max=MAX_REVEAL_REASON_LENGTH)])


def _beneficiary_changes(form: BeneficiaryForm) -> BeneficiaryChanges:
    """The form as the typed input of services.registry.people.save_beneficiary; the ID number only when new."""
    return BeneficiaryChanges(
        name=form.name.data,
        id_number=form.new_id_number.data.strip() if form.new_id_number.data else UNCHANGED,
        gender=form.gender.data or None,
        birth_date=form.birth_date.data,
        categories=tuple(form.categories.data or ()),
        risk_tier=form.risk_tier.data or None,
        station=form.station.data,
        service_point=form.service_point.data,
        address=form.address.data or "",
        home_latitude=form.home_latitude.data,
        home_longitude=form.home_longitude.data,
        phone=form.phone.data or None,
        status=form.status.data,
    )


class BeneficiaryView(ScopedQueryMixin, AdminEditsModelView):
    """The registry: admins edit, supervisors read their stations'; ID numbers masked unless revealed (audited)."""

    column_list = ("name", "id_number_masked", "gender", "birth_date", "categories", "risk_tier", "station",
                   "service_point", "status")
    column_details_list = (*column_list, "address", "phone", "home_latitude", "home_longitude", "created_at",
                           "updated_at")
    column_searchable_list = ("name", "name_initials")
    column_sortable_list = ("name", "birth_date", "status")
    column_default_sort = "name"
    column_filters = (
        FilterEqual(Beneficiary.status, lazy_gettext("Status"), options=lambda: enum_choices(BENEFICIARY_STATUSES)),
        FilterEqual(Beneficiary.risk_tier, lazy_gettext("Risk tier"), options=lambda: enum_choices(RISK_TIERS)),
    )
    column_labels = {
        "name": lazy_pgettext("person", "Name"), "name_initials": lazy_gettext("Pinyin initials"),
        "id_number_masked": lazy_gettext("ID number"), "gender": lazy_gettext("Gender"),
        "birth_date": lazy_gettext("Date of birth"), "categories": lazy_gettext("Categories"),
        "risk_tier": lazy_gettext("Risk tier"), "station": lazy_gettext("Station"),
        "service_point": lazy_gettext("Service point"), "status": lazy_gettext("Status"),
        "address": lazy_gettext("Address"), "phone": lazy_gettext("Phone"),
        "home_latitude": lazy_gettext("Home latitude"), "home_longitude": lazy_gettext("Home longitude"),
        "created_at": lazy_gettext("Created"), "updated_at": lazy_gettext("Updated"),
    }
    column_formatters = {
        "gender": _label_formatter(GENDERS),
        "risk_tier": _label_formatter(RISK_TIERS),
        "status": _label_formatter(BENEFICIARY_STATUSES),
        "categories": lambda _v, _c, person, _n: list_separator().join(
            enum_label(BENEFICIARY_CATEGORIES, code) for code in person.categories),
    }
    form = BeneficiaryForm
    details_template = "admin/beneficiary_details.html"
    edit_template = "admin/beneficiary_edit.html"

    def scope(self, query):
        return scope_beneficiaries(query, current_user)

    def list_options(self, query):
        return query.options(joinedload(Beneficiary.station), joinedload(Beneficiary.service_point),
                             selectinload(Beneficiary.category_rows))

    def _apply_search(self, query, count_query, joins, count_joins, search):
        # A full ID number or its last 4–6 characters is found by a keyed HMAC (services.registry.search's rule,
        # the phone API's too); any other term searches names and initials as Flask-Admin does.
        same_number = id_number_condition(search)
        if same_number is not None:
            return (query.filter(same_number), count_query.filter(same_number) if count_query is not None else None,
                    joins, count_joins)
        return super()._apply_search(query, count_query, joins, count_joins, search)

    def search_placeholder(self):
        return gettext("Name, pinyin initials, ID number or its last 4–6 characters")

    @expose("/details/")
    def details_view(self):
        """The person's page: their fields, schedule and visit history (services.registry.profile), latest first.

        `visits_after` is the cursor of an older page of the history. Outside the user's stations: 404.
        """
        try:
            profile = beneficiary_profile(acting_user(), record_id_or_404(request.args.get("id")),
                                          cursor=request.args.get("visits_after") or None)
        except NotFound:
            abort(404)
        except Invalid:
            abort(400)
        return self.render(self.details_template, model=profile.beneficiary, profile=profile,
                           details_columns=self._details_columns, get_value=self.get_detail_value,
                           return_url=get_redirect_target() or self.get_url(".index_view"))

    @property
    def column_extra_row_actions(self):
        return [EndpointLinkRowAction("fa fa-id-card", ".reveal_view", title=gettext("Show full ID number"))]

    def create_model(self, form):
        return call_service(save_beneficiary, None, _beneficiary_changes(form), acting_user())

    def update_model(self, form, model):
        return call_service(save_beneficiary, model, _beneficiary_changes(form), acting_user()) is not False

    @expose("/reveal/", methods=("GET", "POST"))
    def reveal_view(self):
        """Ask for a reason, then show one person's full ID number once; the service audits it."""
        beneficiary = self.get_one(request.args.get("id"))
        form = RevealForm(request.form)
        if request.method == "POST" and form.validate():
            try:
                id_number = reveal_id_number(acting_user(), beneficiary, form.reason.data)
            except NotFound:
                abort(404)
            except ServiceError as error:
                flash_service_error(error)
                return self.render("admin/beneficiary_reveal.html", form=form, beneficiary=beneficiary,
                                   id_number=None)
            response = make_response(self.render("admin/beneficiary_reveal.html", form=None,
                                                 beneficiary=beneficiary, id_number=id_number))
            response.headers["Cache-Control"] = "no-store"
            return response
        return self.render("admin/beneficiary_reveal.html", form=form, beneficiary=beneficiary, id_number=None)


# --- Audit log -------------------------------------------------------------------------------------------

class AuditEventView(AdminOnlyModelView):
    """The audit log: read-only evidence, filterable by actor, action, object and date."""

    can_create = False
    can_edit = False

    def is_accessible(self) -> bool:
        return can_read_audit_log(acting_user())

    column_list = ("created_at", "actor", "action", "object_type", "object_id", "ip", "details")
    column_details_list = column_list
    column_default_sort = ("created_at", True)
    column_sortable_list = ("created_at", "action")
    column_filters = (
        FilterEqual(User.username, lazy_gettext("Actor (username)")),
        FilterEqual(AuditEvent.action, lazy_gettext("Action"), options=lambda: enum_choices(AUDIT_ACTIONS)),
        FilterEqual(AuditEvent.object_type, lazy_gettext("Object type"),
                    options=lambda: enum_choices(AUDIT_OBJECT_TYPES)),
        FilterEqual(AuditEvent.object_id, lazy_gettext("Object id")),
        DateBetweenFilter(AuditEvent.created_at, lazy_gettext("Date")),
    )
    column_labels = {"created_at": lazy_gettext("Time"), "actor": lazy_gettext("Actor"),
                     "action": lazy_gettext("Action"), "object_type": lazy_gettext("Object type"),
                     "object_id": lazy_gettext("Object id"), "ip": lazy_gettext("IP address"),
                     "details": lazy_gettext("Details")}
    column_formatters = {
        "action": _label_formatter(AUDIT_ACTIONS),
        "object_type": _label_formatter(AUDIT_OBJECT_TYPES),
        # Labelled in the UI language at the edge (services store codes); one line per detail.
        "details": lambda _v, _c, event, _n: Markup('<small>{}</small>').format(
            Markup("<br>").join(escape(line) for line in audit_detail_lines(event.details))),
    }

    def get_query(self):
        # Flask-Admin joins users itself when the actor filter is used; this only loads the actor column.
        return super().get_query().options(joinedload(AuditEvent.actor))


def add_management_views(admin: Admin) -> None:
    """Register the management views on this app's Admin."""
    # Flask-Admin 2.x takes the Flask-SQLAlchemy object (passing db.session is deprecated).
    session = db
    admin.add_view(UserView(User, session, name=lazy_gettext("Users"), category=MANAGEMENT, endpoint="users"))
    admin.add_view(BeneficiaryView(Beneficiary, session, name=lazy_gettext("Beneficiaries"), category=MANAGEMENT,
                                   endpoint="beneficiaries"))
    admin.add_view(StationView(Station, session, name=lazy_gettext("Stations"), category=MANAGEMENT,
                               endpoint="stations"))
    admin.add_view(ServicePointView(ServicePoint, session, name=lazy_gettext("Service points"),
                                    category=MANAGEMENT, endpoint="service_points"))
    admin.add_view(RegionView(Region, session, name=lazy_gettext("Regions"), category=MANAGEMENT,
                              endpoint="regions"))
    admin.add_view(AuditEventView(AuditEvent, session, name=lazy_gettext("Audit log"), category=MANAGEMENT,
                                  endpoint="audit_log"))
