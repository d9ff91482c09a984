"""服务对象: people in the registry of hardship and special groups, and their visit schedules."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.ext.hybrid import Comparator, hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models import id_numbers
from models.enums import BeneficiaryStatus
from models.region import ServicePoint, Station
from models.types import UTCDateTime, utcnow


def mask_id_number(id_number: str | None) -> str:
    """Return an ID number with its middle hidden: 440902********1234."""
    return id_numbers.mask(id_number)


class _IdNumberComparator(Comparator):
    """`Beneficiary.id_number == x` and `.in_([...])` compare keyed HMACs: exact matches without decrypting."""

    def __eq__(self, other):
        return self.expression == id_numbers.lookup_hmac(other)

    def __ne__(self, other):
        return self.expression != id_numbers.lookup_hmac(other)

    def in_(self, other):
        return self.expression.in_([id_numbers.lookup_hmac(number) for number in other])


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
    # The ID number is never stored in clear (models.id_numbers): AES-GCM ciphertext, a keyed HMAC of the
    # normalised number for uniqueness and exact lookups, and the masked form lists and exports show.
    # Every write sets them all through id_numbers.stored_columns.
    id_number_sealed: Mapped[str] = mapped_column(String(96))
    id_number_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    # Keyed HMACs of the last 4, 5 and 6 characters (id_numbers.tail_hmac): the registry's search by the end
    # of a number is an index lookup, and nothing beyond the masked form is readable without the key.
    id_number_tail4_hmac: Mapped[str] = mapped_column(String(16), index=True)
    id_number_tail5_hmac: Mapped[str] = mapped_column(String(16), index=True)
    id_number_tail6_hmac: Mapped[str] = mapped_column(String(16), index=True)
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

    @hybrid_property
    def id_number(self) -> str | None:
        """The full ID number, decrypted on access (only reveal and full exports need it)."""
        return id_numbers.unseal(self.id_number_sealed) if self.id_number_sealed else None

    @id_number.inplace.setter
    def _id_number_setter(self, number: str) -> None:
        for column, value in id_numbers.stored_columns(number).items():
            setattr(self, column, value)

    @id_number.inplace.comparator
    @classmethod
    def _id_number_comparator(cls) -> _IdNumberComparator:
        return _IdNumberComparator(cls.id_number_hmac)

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
