"""Accounts, their API tokens and the login-attempt log used for throttling."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.region import Station
from models.types import UTCDateTime, utcnow

supervisor_stations = Table(
    "supervisor_stations",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("station_id", ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True),
)



def shown_name(users):
    """User.name as SQL, for queries that read rows rather than users: `users` is the users table, an alias of it
    (exports join it three times) or the User class."""
    columns = getattr(users, "c", users)
    return func.coalesce(func.nullif(columns.display_name, ""), columns.username)

class User(UserMixin, db.Model):
    """A social worker, a supervisor or an admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    wechat_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # Part of every admin session's identity (get_id): raising it ends all of the user's sessions at once.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    station: Mapped[Station | None] = relationship(foreign_keys=[station_id])
    supervised_stations: Mapped[list[Station]] = relationship(secondary=supervisor_stations)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def get_id(self) -> str:
        """The session's identity for Flask-Login: "<id>:<session_version>" (see load_user in factory)."""
        return f"{self.id}:{self.session_version}"

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def __str__(self) -> str:
        return self.name


class ApiToken(db.Model):
    """A bearer token of the phone API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginAttempt(db.Model):
    """One login attempt, kept as history (who tried which username from where, and whether it worked)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_created", "username", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginThrottle(db.Model):
    """A failure counter for one throttling key ("pair:<username>|<address>" or "address:<address>").

    Counted with one atomic upsert per attempt, in the database, so the limit is exact under concurrency
    and holds across app servers. The window is fixed from the first failure: refused attempts do not
    extend it, so a lock-out always ends.
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
