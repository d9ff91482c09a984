"""服务对象: people in the registry of hardship and special groups, and their visit schedules."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.enums import BeneficiaryStatus
from models.region import ServicePoint, Station
from models.types import UTCDateTime, utcnow


def mask_id_number(id_number: str | None) -> str:
    """Return an ID number with its middle hidden: 440902********1234."""
    if not id_number:
        return ""
    if len(id_number) <= 10:
        return id_number[:2] + "*" * max(len(id_number) - 4, 0) + id_number[-2:]
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


class Beneficiary(db.Model):
    """A registered person whom the station visits."""

    __tablename__ = "beneficiaries"
    __table_args__ = (
        # Due and overdue lists: a station's (or everyone's) active people by next due day.
        Index("ix_beneficiaries_station_status_due", "station_id", "status", "next_due_day"),
        Index("ix_beneficiaries_status_due", "status", "next_due_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    # Pinyin initials of the name, kept for phone search ("zxm" finds 张小明).
    name_initials: Mapped[str] = mapped_column(String(64), default="", index=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    gender: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[date | None] = mapped_column(Date)
    risk_tier: Mapped[str | None] = mapped_column(String(16))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    home_latitude: Mapped[float | None] = mapped_column(Float)
    home_longitude: Mapped[float | None] = mapped_column(Float)
    phone: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=BeneficiaryStatus.ACTIVE, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Schedule state, kept by services.reporting.schedule_state in the transaction of every change that moves
    # it (approve, reopen, categories, risk tier, an interval) so due lists and coverage read one indexed
    # column instead of aggregating the visits. `flask schedules rebuild` recomputes it from the visits.
    schedule_interval_days: Mapped[int] = mapped_column(Integer, default=91, server_default="91")
    # started_at of the latest approved visit that counts as a visit to the person (coverage.COUNTING_KINDS).
    last_approved_visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Local calendar day (days since 1970-01-01 in TIMEZONE) from which the person is due again; 0 (long
    # overdue) until first computed, so a row the keeper missed shows up as due rather than disappearing.
    next_due_day: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    station: Mapped[Station] = relationship()
    service_point: Mapped[ServicePoint | None] = relationship()
    category_rows: Mapped[list[BeneficiaryCategory]] = relationship(
        back_populates="beneficiary", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def categories(self) -> list[str]:
        return sorted(row.category for row in self.category_rows)

    @categories.setter
    def categories(self, codes) -> None:
        wanted = set(codes)
        self.category_rows = [row for row in self.category_rows if row.category in wanted]
        present = {row.category for row in self.category_rows}
        for code in sorted(wanted - present):
            self.category_rows.append(BeneficiaryCategory(category=code))

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def has_home_location(self) -> bool:
        return self.home_latitude is not None and self.home_longitude is not None

    def __str__(self) -> str:
        return self.name


class BeneficiaryCategory(db.Model):
    """One category of a beneficiary (a person may be in several)."""

    __tablename__ = "beneficiary_categories"

    beneficiary_id: Mapped[int] = mapped_column(
        ForeignKey("beneficiaries.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)

    beneficiary: Mapped[Beneficiary] = relationship(back_populates="category_rows")


class CategorySchedule(db.Model):
    """The required visit frequency of a category, editable by admins."""

    __tablename__ = "category_schedules"
    __table_args__ = (UniqueConstraint("category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    interval_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
