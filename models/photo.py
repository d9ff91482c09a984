"""Photos uploaded as evidence of a visit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.types import UTCDateTime, utcnow
from models.user import User
from models.visit import Visit


class Photo(db.Model):
    """One uploaded photo: the untouched original (evidence) and its served derivatives."""

    __tablename__ = "photos"
    __table_args__ = (UniqueConstraint("owner_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # 64-bit difference hash as 16 hex digits, for near-duplicate detection; split into four indexed
    # 16-bit bands so that any hash within Hamming distance 3 shares a band (pigeonhole) and is found
    # by an index lookup instead of a scan.
    phash: Mapped[str | None] = mapped_column(String(16))
    phash_band0: Mapped[int | None] = mapped_column(Integer, index=True)
    phash_band1: Mapped[int | None] = mapped_column(Integer, index=True)
    phash_band2: Mapped[int | None] = mapped_column(Integer, index=True)
    phash_band3: Mapped[int | None] = mapped_column(Integer, index=True)
    storage_key: Mapped[str] = mapped_column(String(255))
    display_key: Mapped[str] = mapped_column(String(255))
    thumb_key: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # False when EXIF gave no offset and the local time zone was assumed.
    taken_at_has_offset: Mapped[bool] = mapped_column(Boolean, default=False)
    gps_latitude: Mapped[float | None] = mapped_column(Float)
    gps_longitude: Mapped[float | None] = mapped_column(Float)
    camera_make: Mapped[str | None] = mapped_column(String(64))
    camera_model: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship()
    visit: Mapped[Visit | None] = relationship(back_populates="photos")

    @property
    def gps(self) -> dict | None:
        if self.gps_latitude is None or self.gps_longitude is None:
            return None
        return {"lat": self.gps_latitude, "lon": self.gps_longitude}
