"""What the admin site says when a service refuses: ServiceError codes translated into the page's language.

Services raise a stable code with its parameters (services.errors); the words are chosen here, in English
msgids translated by the catalogs under translations/. A code the admin does not know falls back to a
sentence per HTTP status, never to the service's Chinese message (which is the phone API's).
"""

from collections.abc import Mapping

from flask_babel import get_locale, gettext, lazy_gettext

from services.errors import ServiceError

SERVICE_ERROR_MESSAGES = {
    # permissions
    "registry_admin_only": lazy_gettext("Only administrators may change the registry of beneficiaries."),
    "management_admin_only": lazy_gettext(
        "Only administrators may manage accounts, stations, regions and visit intervals."),
    "full_id_export_admin_only": lazy_gettext("Only administrators may export full ID numbers."),
    # accounts
    "user_invalid": lazy_gettext("The account's details are not valid."),
    "own_account_status": lazy_gettext("You cannot deactivate or re-activate your own account."),
    "unknown_role": lazy_gettext("Unknown role %(role)s."),
    "username_invalid": lazy_gettext("The username is not valid."),
    "username_taken": lazy_gettext("The username %(username)s is already taken."),
    "password_too_short": lazy_gettext("A password needs at least %(limit)d characters."),
    "unknown_station": lazy_gettext("Station %(code)s does not exist."),
    "unknown_user": lazy_gettext("User %(username)s does not exist."),
    "worker_needs_one_station": lazy_gettext("A social worker belongs to exactly one station."),
    "supervisor_needs_stations": lazy_gettext("A supervisor supervises at least one station."),
    # stations, service points, regions
    "station_fields_missing": lazy_gettext("Code and name may not be empty."),
    "code_invalid": lazy_gettext("The code may not be empty and may have at most %(limit)d characters."),
    "name_invalid": lazy_gettext("The name may not be empty and may have at most %(limit)d characters."),
    "coordinates_incomplete": lazy_gettext("Give both latitude and longitude, or neither."),
    "station_exists": lazy_gettext("Station %(code)s already exists."),
    "station_required": lazy_gettext("Choose a station."),
    "region_code_invalid": lazy_gettext("The region code is not valid."),
    "region_level_unknown": lazy_gettext("Unknown region level %(level)s."),
    "region_exists": lazy_gettext("Region %(code)s already exists."),
    "region_parent_cycle": lazy_gettext("A region cannot lie inside itself."),
    "region_has_service_point": lazy_gettext("Region %(code)s already has a service point."),
    "region_not_found": lazy_gettext("This region does not exist."),
    # registry
    "beneficiary_invalid": lazy_gettext("The beneficiary's details are not valid."),
    "beneficiary_not_found": lazy_gettext("This beneficiary does not exist."),
    "id_number_taken": lazy_gettext("This ID number is already registered."),
    "reason_required": lazy_gettext("Give a reason."),
    "reason_too_long": lazy_gettext("The reason may have at most %(limit)d characters."),
    "file_required": lazy_gettext("Choose a roster file (.xlsx or .csv)"),
    "staged_roster_not_found": lazy_gettext("The file to import is gone or has expired; please upload it again."),
    "import_conflict": lazy_gettext("The registry was changed during the import; please try again."),
    # schedules, reports, exports
    "category_not_found": lazy_gettext("This category does not exist."),
    "interval_out_of_range": lazy_gettext("The visit interval must be between %(min)d and %(max)d days."),
    "date_range_reversed": lazy_gettext("The end date may not be before the start date."),
    "date_range_too_long": lazy_gettext("The period may be at most %(limit)d days long."),
    "export_format_unknown": lazy_gettext("Unknown export format %(format)s."),
    # review
    "visit_not_found": lazy_gettext("This visit record does not exist."),
    "self_review": lazy_gettext("You cannot review a visit record you took part in."),
    "comment_required": lazy_gettext("Give a comment or reason."),
    "invalid_transition": lazy_gettext("This action is not possible in the record's current state."),
    "visit_state_changed": lazy_gettext("Someone else has already handled this record; reload it to see."),
    "unknown_action": lazy_gettext("Unknown action %(action)s."),
    "too_many_visits": lazy_gettext("At most %(limit)d records can be handled at once."),
}

STATUS_MESSAGES = {
    403: lazy_gettext("You may not do this."),
    404: lazy_gettext("Not found."),
    409: lazy_gettext("This record was changed meanwhile; please reload it."),
}
DEFAULT_MESSAGE = lazy_gettext("The input was refused.")


def service_error_text(error: ServiceError) -> str:
    """The refusal as one sentence in the page's language, with its field details."""
    text = code_text(error.code, error.params, error.status)
    details = _field_details(error.fields)
    return gettext("%(message)s (%(details)s)", message=text, details=details) if details else text


def code_text(code: str, params: Mapping | None = None, status: int = 400) -> str:
    """One refusal code (a ServiceError's, or one field problem's of services.validation) as a sentence in the
    page's language; an unknown code, or one without the parameters its sentence names, by its HTTP status."""
    template = SERVICE_ERROR_MESSAGES.get(code)
    if template is not None:
        try:
            return str(template) % dict(params) if params else str(template)
        except (KeyError, TypeError, ValueError):
            pass
    return str(STATUS_MESSAGES.get(status, DEFAULT_MESSAGE))


def _field_details(fields: dict) -> str:
    # The per-field sentences are the services' Chinese (the phone's words): the Chinese page shows them,
    # any other language names the fields only.
    if str(get_locale() or "").startswith("zh"):
        return "; ".join(f"{field}: {', '.join(map(str, problems))}" for field, problems in fields.items())
    return ", ".join(fields)
