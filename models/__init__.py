"""The data model: one module per aggregate, all imported here so Alembic and the mappers see them."""

from models.audit import AuditEvent
from models.beneficiary import Beneficiary, BeneficiaryCategory, CategorySchedule, mask_id_number
from models.photo import Photo
from models.region import Region, ServicePoint, Station
from models.types import UTCDateTime, utcnow
from models.user import ApiToken, LoginAttempt, LoginThrottle, User, supervisor_stations
from models.visit import ReviewEvent, Visit, VisitWarning, visit_coworkers

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Beneficiary",
    "BeneficiaryCategory",
    "CategorySchedule",
    "LoginAttempt",
    "LoginThrottle",
    "Photo",
    "Region",
    "ReviewEvent",
    "ServicePoint",
    "Station",
    "UTCDateTime",
    "User",
    "Visit",
    "VisitWarning",
    "mask_id_number",
    "supervisor_stations",
    "utcnow",
    "visit_coworkers",
]
