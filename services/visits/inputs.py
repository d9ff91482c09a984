"""What a worker sends for a visit, as typed values: the API's schemas build these, the demo and tests construct them.

They carry the sender's values unchecked beyond their types: the rules (vocabularies, time window, place,
beneficiary, photos, co-workers) are services.visits.submission's. Sequences are stored as tuples so that an
input, once built, does not change under the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, kw_only=True)
class LocationInput:
    """The check-in point as the phone's location API gave it, in its own datum (`wgs84` or `gcj02`)."""

    latitude: float
    longitude: float
    coord_type: str
    accuracy: float | None = None


@dataclass(frozen=True, kw_only=True)
class FindingInput:
    """One area of the visit form: a tick (`ok` / `concern`) and a short remark."""

    value: str
    note: str = ""


_SEQUENCE_FIELDS = ("services", "domains", "photo_ids", "needs", "coworker_ids")


@dataclass(frozen=True, kw_only=True)
class VisitInput:
    """One check-in as sent: `client_id` (made on the phone) is required to submit and ignored on resubmission."""

    kind: str
    started_at: datetime
    ended_at: datetime
    client_id: str | None = None
    beneficiary_id: int | None = None
    services: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    location: LocationInput | None = None
    notes: str = ""
    photo_ids: tuple[int, ...] = ()
    findings: Mapping[str, FindingInput] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    follow_up_needed: bool = False
    follow_up_due: date | None = None
    photo_consent: bool = False
    coworker_ids: tuple[int, ...] = ()
    people_count: int = 1
    mock_location: bool = False
    # The phone's clock when sending: describes the transmission, not the check-in.
    client_sent_at: datetime | None = None

    def __post_init__(self):
        # Callers may pass lists; a frozen input keeps tuples.
        for name in _SEQUENCE_FIELDS:
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.client_id is not None:
            object.__setattr__(self, "client_id", str(self.client_id))

    def as_dict(self) -> dict:
        """Every field as plain values (nested inputs as dicts), as the body's fingerprint is taken over."""
        # Shallow: the values are immutable or tuples already (dataclasses.asdict deep-copies them all).
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values["location"] = None if self.location is None else dict(vars(self.location))
        values["findings"] = {area: dict(vars(finding)) for area, finding in self.findings.items()}
        return values
