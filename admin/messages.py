"""What the admin site says when a service refuses: ServiceError codes translated into the page's language.

Services raise a stable code with its parameters (services.errors); the words are chosen here, in English
msgids translated by the catalogs under translations/. A code the admin does not know falls back to a
sentence per HTTP status, never to the service's Chinese message (which is the phone API's).
"""

from flask_babel import get_locale, gettext, lazy_gettext, lazy_pgettext

from admin.i18n import enum_label, list_separator
from models.enums import BENEFICIARY_CATEGORIES, GENDERS, RISK_TIERS
from services.errors import ServiceError

SERVICE_ERROR_MESSAGES = {
    # permissions
    "registry_admin_only": lazy_gettext("Only administrators may change the registry of beneficiaries."),
    "management_admin_only": lazy_gettext(
        "Only administrators may manage accounts, stations, regions and visit intervals."),
    "full_id_export_admin_only": lazy_gettext("Only administrators may export full ID numbers."),
    # accounts
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
    template = SERVICE_ERROR_MESSAGES.get(error.code)
    if template is None:
        text = str(STATUS_MESSAGES.get(error.status, DEFAULT_MESSAGE))
    else:
        try:
            text = str(template) % error.params if error.params else str(template)
        except (KeyError, TypeError, ValueError):  # a code raised without the parameters its sentence names
            text = str(STATUS_MESSAGES.get(error.status, DEFAULT_MESSAGE))
    details = _field_details(error.fields)
    return gettext("%(message)s (%(details)s)", message=text, details=details) if details else text


def _field_details(fields: dict) -> str:
    # The per-field sentences are the services' Chinese (the phone's words): the Chinese page shows them,
    # any other language names the fields only.
    if str(get_locale() or "").startswith("zh"):
        return "; ".join(f"{field}: {', '.join(map(str, problems))}" for field, problems in fields.items())
    return ", ".join(fields)


# --- roster import: the rows' problems and the check step's changes (services.registry.bulk_import) -------------

# A row problem's words by its code; where one code has several causes, by (code, params["kind"]).
ROSTER_PROBLEM_MESSAGES = {
    "missing": lazy_gettext("This cell may not be empty."),
    "too_long": lazy_gettext("At most %(limit)d characters."),
    "id_number_mangled": lazy_gettext(
        "Excel turned the ID number into scientific notation; format the column as text and export again."),
    "id_number_length": lazy_gettext("An ID number has 18 characters (this one has %(length)d)."),
    "id_number_format": lazy_gettext("An ID number is made of digits; only the last may be X."),
    "id_number_checksum": lazy_gettext("The ID number's check digit is wrong."),
    "id_number_birth_date": lazy_gettext("The birth date inside the ID number is not a valid date."),
    "id_number_numeric": lazy_gettext(
        "The ID number “%(value)s” is stored as a number (Excel keeps only 15 significant digits, so the last "
        "ones may have turned into 0); format the column as text and enter it again."),
    "duplicate_in_file": lazy_gettext("The same ID number is already on row %(first_line)d."),
    "gender": lazy_gettext("Gender “%(value)s” is not valid; write 男 or 女."),
    "date": lazy_gettext("Date “%(value)s” is not valid; write it like 1950-03-01."),
    "unknown_category": lazy_gettext("Unknown category: %(values)s."),
    "risk_tier": lazy_gettext("Risk tier “%(value)s” is not valid; write 高风险, 重点 or 一般."),
    "coordinate": lazy_gettext("“%(value)s” is not a number."),
    "coordinate_pair": lazy_gettext("Give both latitude and longitude, or neither."),
    "coordinate_range": lazy_gettext(
        "The coordinates %(lat)s, %(lon)s are out of range (latitude ±90, longitude ±180)."),
    "phone": lazy_gettext("The phone number “%(value)s” is not valid."),
    "unknown_station": lazy_gettext("Unknown station “%(value)s” (write a station's name or code)."),
    "missing_station": lazy_gettext("%(column)s may not be empty."),
    "ambiguous_station": lazy_gettext(
        "Several stations are called “%(value)s” (codes %(codes)s); write the station's code instead."),
    "formula": lazy_gettext("The row contains a formula; copy it and paste it as values before importing."),
    "cell_too_long": lazy_gettext("A cell holds more than %(limit)d characters."),
    "too_many_rows": lazy_gettext("At most %(limit)d rows can be imported at once; split the file."),
    "header": lazy_gettext("The header lacks the columns %(missing)s."),
    ("header", "not_found"): lazy_gettext(
        "No header in the first %(rows)d rows (it should have columns such as %(expected)s)."),
    ("header", "empty"): lazy_gettext("The file is empty."),
    "xlsx_format": lazy_gettext("The file is not a valid Excel (.xlsx) workbook."),
    "xls_format": lazy_gettext("Old .xls files are not supported; save the file as .xlsx in Excel."),
    ("too_large", "unpacked"): lazy_gettext("The workbook unpacks to too much; split the file."),
    ("too_large", "text"): lazy_gettext("The workbook holds too much text; split the file."),
    "zip_bomb": lazy_gettext("The workbook's compression ratio is abnormal (a suspected zip bomb); refused."),
    "external_link": lazy_gettext(
        "The workbook links to other files; break the links, keep only the values and import it again."),
    ("encoding", "utf16"): lazy_gettext("The file is UTF-16; save it as “CSV UTF-8” or as a GB18030 CSV."),
    "encoding": lazy_gettext(
        "The row has characters that cannot be read as %(encoding)s; save the file as UTF-8 or GB18030."),
    "too_many_fields": lazy_gettext(
        "The row has %(fields)d fields but the header %(columns)d columns (put commas inside an address in "
        "quotes)."),
    "csv_format": lazy_gettext("The CSV format is broken: %(detail)s"),
}
ROSTER_PROBLEM_DEFAULT = lazy_gettext("This value is not valid.")

# The fields the check step shows changing, as the registry's pages name them.
ROSTER_FIELD_LABELS = {
    "name": lazy_pgettext("person", "Name"),
    "gender": lazy_gettext("Gender"),
    "birth_date": lazy_gettext("Birth date"),
    "categories": lazy_gettext("Categories"),
    "risk_tier": lazy_gettext("Risk tier"),
    "station": lazy_gettext("Station"),
    "service_point": lazy_gettext("Village / community"),
    "address": lazy_gettext("Address"),
    "home_location": lazy_gettext("Home location"),
    "phone": lazy_gettext("Phone"),
}


def roster_problem_text(problem) -> str:
    """A roster row's problem (bulk_import.RowProblem) as one sentence in the page's language, by its code."""
    params = {key: list_separator().join(map(str, value)) if isinstance(value, list | tuple) else value
              for key, value in problem.params.items()}
    template = (ROSTER_PROBLEM_MESSAGES.get((problem.code, params.get("kind")))
                or ROSTER_PROBLEM_MESSAGES.get(problem.code, ROSTER_PROBLEM_DEFAULT))
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):  # a code raised without the parameters its sentence names
        return str(ROSTER_PROBLEM_DEFAULT)


def roster_value_text(field: str, value) -> str:
    """A stored value of a person, as the check step shows it: labels for codes, '—' for nothing."""
    if value is None or value == "" or value == ():
        return "—"
    if field == "categories":
        return list_separator().join(enum_label(BENEFICIARY_CATEGORIES, code) for code in value)
    if field == "gender":
        return enum_label(GENDERS, value)
    if field == "risk_tier":
        return enum_label(RISK_TIERS, value)
    if field == "home_location":
        return f"{value[0]:.6f}, {value[1]:.6f}"
    return str(value)


def roster_field_label(field: str) -> str:
    """The name of a person's field in the page's language."""
    return str(ROSTER_FIELD_LABELS.get(field, field))
