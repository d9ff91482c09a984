"""Configuration from environment variables, with safe defaults for one county on SQLite."""

import base64
import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_secret_key(instance_dir: Path = INSTANCE_DIR) -> str:
    """Return SECRET_KEY from the environment, or one generated once into the instance folder.

    The generated key survives restarts and is shared by every gunicorn worker, so sessions and
    signed tickets stay valid; it is never committed.
    """
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: when two workers start together, one writes and the other reads the winner's key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def decode_key(text: str) -> bytes:
    """An ID number key from its text form; ValueError unless 32 bytes of URL-safe base64."""
    key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    if len(key) != 32:
        raise ValueError("an ID number key is 32 bytes, URL-safe base64")
    return key


def encode_key(key: bytes) -> str:
    """The text form of an ID number key (URL-safe base64), as ID_NUMBER_KEY and instance/id_number_keys hold it."""
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def id_number_keys_file(instance_dir: Path = INSTANCE_DIR) -> Path:
    return instance_dir / "id_number_keys"


def load_id_number_keys(instance_dir: Path = INSTANCE_DIR) -> list[bytes]:
    """The ID number key ring, current key first.

    From ID_NUMBER_KEY (and ID_NUMBER_OLD_KEYS, comma-separated, while a rotation runs), else from
    instance/id_number_keys (one key a line, current first), generated once like the secret key. Every
    app server must have the same ring: set ID_NUMBER_KEY when there is more than one.
    """
    from_env = os.environ.get("ID_NUMBER_KEY")
    if from_env:
        old = [part for part in os.environ.get("ID_NUMBER_OLD_KEYS", "").split(",") if part.strip()]
        return [decode_key(from_env), *(decode_key(part) for part in old)]
    key_file = id_number_keys_file(instance_dir)
    if not key_file.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(encode_key(secrets.token_bytes(32)) + "\n")
    return [decode_key(line) for line in key_file.read_text().splitlines() if line.strip()]


class Config:
    """Settings read once at start-up; tests pass overrides to create_app()."""

    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'zoufang.db'}"
    )
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # hide_parameters: error messages and logs never carry the values of a statement (notes, locations
    # and ID numbers are personal data).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}

    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(BASE_DIR / "uploads"))
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "filesystem")  # or "s3"
    # S3-compatible object storage (Alibaba OSS, Tencent COS, Huawei OBS, MinIO, AWS); used when
    # STORAGE_BACKEND=s3 and by `photos migrate --to s3`. Empty credentials: boto3's usual chain.
    S3_BUCKET = os.environ.get("S3_BUCKET", "")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "")
    S3_REGION = os.environ.get("S3_REGION", "")
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID", "")
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY", "")
    S3_KEY_PREFIX = os.environ.get("S3_KEY_PREFIX", "")
    S3_ADDRESSING_STYLE = os.environ.get("S3_ADDRESSING_STYLE", "virtual")  # OSS/COS need virtual; MinIO: path
    S3_CONNECT_TIMEOUT_SECONDS = _env_float("S3_CONNECT_TIMEOUT_SECONDS", 5)
    S3_READ_TIMEOUT_SECONDS = _env_float("S3_READ_TIMEOUT_SECONDS", 30)
    # How photo copies reach clients: "stream" through the app (phones in the field may not reach the
    # bucket's host), or "redirect" to a presigned URL valid PHOTO_URL_SECONDS (S3 backend only).
    PHOTO_DELIVERY = os.environ.get("PHOTO_DELIVERY", "stream")
    PHOTO_URL_SECONDS = _env_int("PHOTO_URL_SECONDS", 300)

    TIMEZONE = os.environ.get("TIMEZONE", "Asia/Shanghai")

    # Accounts and sessions
    API_TOKEN_LIFETIME = timedelta(days=_env_int("API_TOKEN_DAYS", 30))
    # Failures allowed per (username, client address), and per address across usernames, in the window.
    LOGIN_MAX_FAILURES = _env_int("LOGIN_MAX_FAILURES", 5)
    LOGIN_MAX_FAILURES_PER_ADDRESS = _env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 20)
    LOGIN_FAILURE_WINDOW = timedelta(minutes=_env_int("LOGIN_FAILURE_WINDOW_MINUTES", 15))
    ADMIN_IDLE_TIMEOUT = timedelta(minutes=_env_int("ADMIN_IDLE_MINUTES", 30))
    PERMANENT_SESSION_LIFETIME = ADMIN_IDLE_TIMEOUT
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    # How many reverse proxies in front append to X-Forwarded-For; only their entries are believed
    # (0: the client address is the TCP peer, and X-Forwarded-For is ignored).
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
    REMEMBER_COOKIE_HTTPONLY = True

    # Photos
    MAX_PHOTO_BYTES = _env_int("MAX_PHOTO_BYTES", 20 * 1024 * 1024)
    # Flask refuses bodies past this before a view runs; multipart framing adds a little.
    MAX_CONTENT_LENGTH = MAX_PHOTO_BYTES + 64 * 1024
    MAX_PHOTO_PIXELS = _env_int("MAX_PHOTO_PIXELS", 64_000_000)
    MAX_PHOTOS_PER_VISIT = _env_int("MAX_PHOTOS_PER_VISIT", 9)
    DISPLAY_LONG_EDGE = _env_int("DISPLAY_LONG_EDGE", 1600)
    THUMB_LONG_EDGE = _env_int("THUMB_LONG_EDGE", 320)

    # Visits
    VISIT_MAX_AGE = timedelta(days=_env_int("VISIT_MAX_AGE_DAYS", 7))
    VISIT_MAX_FUTURE = timedelta(minutes=_env_int("VISIT_MAX_FUTURE_MINUTES", 5))
    MAX_NOTES_LENGTH = _env_int("MAX_NOTES_LENGTH", 2000)
    # 人次 of one community activity; bounds what one record can add to the bureau's report.
    MAX_PEOPLE_COUNT = _env_int("MAX_PEOPLE_COUNT", 50)

    # Authenticity thresholds
    WARN_FAR_FROM_HOME_M = _env_float("WARN_FAR_FROM_HOME_M", 300)
    WARN_POOR_ACCURACY_M = _env_float("WARN_POOR_ACCURACY_M", 100)
    WARN_PHOTO_FAR_M = _env_float("WARN_PHOTO_FAR_M", 300)
    WARN_PHOTO_OLD = timedelta(hours=_env_int("WARN_PHOTO_OLD_HOURS", 12))
    # At most 3, the distance the four indexed hash bands guarantee to find.
    WARN_PHASH_DISTANCE = min(_env_int("WARN_PHASH_DISTANCE", 3), 3)
    WARN_FAST_TRAVEL_KMH = _env_float("WARN_FAST_TRAVEL_KMH", 120)
    WARN_TOO_SHORT = timedelta(minutes=_env_int("WARN_TOO_SHORT_MINUTES", 3))
    WARN_CLOCK_SKEW = timedelta(minutes=_env_int("WARN_CLOCK_SKEW_MINUTES", 10))
    # Cropped, re-saved copies are looked for among the station's photos of this many days (and the person's).
    WARN_REUSE_SCOPE_DAYS = _env_int("WARN_REUSE_SCOPE_DAYS", 120)

    # WeChat mini-program login (code2Session)
    WECHAT_APPID = os.environ.get("WECHAT_APPID", "")
    WECHAT_SECRET = os.environ.get("WECHAT_SECRET", "")
    WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com")
    WECHAT_TIMEOUT_SECONDS = _env_float("WECHAT_TIMEOUT_SECONDS", 5)
    WECHAT_BIND_TICKET_SECONDS = _env_int("WECHAT_BIND_TICKET_SECONDS", 600)

    # Admin UI
    BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    MAP_TILE_URL = os.environ.get(
        "MAP_TILE_URL", "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
    )
    MAP_TILE_SUBDOMAINS = os.environ.get("MAP_TILE_SUBDOMAINS", "1234")
    MAP_TILE_COORD_TYPE = os.environ.get("MAP_TILE_COORD_TYPE", "gcj02")
    MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "© 高德地图")
