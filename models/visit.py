"""走访记录: a visit check-in, its authenticity warnings and its review history."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.beneficiary import Beneficiary
from models.enums import VisitStatus
from models.region import ServicePoint, Station
from models.types import UTCDateTime, utcnow
from models.user import User

if TYPE_CHECKING:
    from models.photo import Photo

visit_coworkers = Table(
    "visit_coworkers",
    db.metadata,
    Column("visit_id", ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)


class Visit(db.Model):
    """One check-in by a worker; the unit that supervisors review and reports count."""

    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("worker_id", "client_id"),
        Index("ix_visits_worker_started", "worker_id", "started_at"),
        Index("ix_visits_station_status_received", "station_id", "status", "received_at"),
        Index("ix_visits_worker_updated", "worker_id", "updated_at", "id"),
        # Reports select approved visits by date range; the dashboard counts visits received since a date.
        Index("ix_visits_status_started", "status", "started_at"),
        Index("ix_visits_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Made on the phone; a retry of the same check-in carries the same one.
    client_id: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the canonical request body, to tell a retry from a conflicting reuse of client_id.
    body_fingerprint: Mapped[str] = mapped_column(String(64))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    beneficiary_id: Mapped[int | None] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    services: Mapped[list] = mapped_column(JSON, default=list)
    domains: Mapped[list] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What the phone sent, and the WGS-84 value every distance is computed on.
    sent_latitude: Mapped[float | None] = mapped_column(Float)
    sent_longitude: Mapped[float | None] = mapped_column(Float)
    coord_type: Mapped[str | None] = mapped_column(String(8))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    mock_location: Mapped[bool] = mapped_column(Boolean, default=False)
    distance_from_home_m: Mapped[float | None] = mapped_column(Float)
    # The phone's own clock when it sent the check-in, for clock_skew.
    client_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")
    # {"basic_living": {"value": "ok"|"concern", "note": ""}, ...}: the four areas of the forms.
    findings: Mapped[dict] = mapped_column(JSON, default=dict)
    needs: Mapped[list] = mapped_column(JSON, default=list)
    follow_up_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_up_due: Mapped[date | None] = mapped_column(Date)
    photo_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Number of people served, for community activities (人次); 1 for a visit to one person.
    people_count: Mapped[int] = mapped_column(Integer, default=1)

    status: Mapped[str] = mapped_column(String(16), default=VisitStatus.SUBMITTED, index=True)
    # Denormalised from the warnings so the review queue sorts and filters without recomputing.
    warning_count: Mapped[int] = mapped_column(Integer, default=0)
    warning_severity: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_comment: Mapped[str | None] = mapped_column(Text)

    worker: Mapped[User] = relationship(foreign_keys=[worker_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    beneficiary: Mapped[Beneficiary | None] = relationship()
    station: Mapped[Station] = relationship()
    service_point: Mapped[ServicePoint | None] = relationship()
    coworkers: Mapped[list[User]] = relationship(secondary=visit_coworkers)
    warnings: Mapped[list[VisitWarning]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", order_by="VisitWarning.id"
    )
    photos: Mapped[list[Photo]] = relationship(
        back_populates="visit", order_by="Photo.position"
    )
    review_events: Mapped[list[ReviewEvent]] = relationship(
        back_populates="visit", order_by="ReviewEvent.id"
    )

    @property
    def duration_minutes(self) -> float:
        return (self.ended_at - self.started_at).total_seconds() / 60

    def __str__(self) -> str:
        return f"#{self.id}"


class VisitWarning(db.Model):
    """An authenticity warning on a visit, with its evidence."""

    __tablename__ = "visit_warnings"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[int] = mapped_column(Integer, default=1)
    message: Mapped[str] = mapped_column(String(255))
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)

    visit: Mapped[Visit] = relationship(back_populates="warnings")


class ReviewEvent(db.Model):
    """One step in a visit's life: submitted, resubmitted, approved, rejected, returned, reopened."""

    __tablename__ = "review_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visit: Mapped[Visit] = relationship(back_populates="review_events")
    actor: Mapped[User] = relationship()
