"""Photo pipeline, pure: decode an upload once, derive the served copies, read EXIF, hash.

No database and no storage here: intake and the benchmarks call it on bytes.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pillow_heif
from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError
from werkzeug.datastructures import FileStorage

from services.errors import Invalid, PayloadTooLarge, UnsupportedMediaType
from services.geo import is_latitude, is_longitude

pillow_heif.register_heif_opener()
# Pillow's default, set explicitly: a truncated file must fail to decode rather than come out half grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# Pillow format name -> MIME type of the accepted uploads. Opening with only these plugins also keeps
# Pillow from handing a hostile file to a plugin we never meant to run (EPS via Ghostscript, say).
OPENED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
# Pillow reports a JPEG carrying extra frames (many phones' depth or preview images) as MPO.
MIME_TYPES = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
              "HEIF": "image/heif"}
_JPEG_FORMATS = {"JPEG", "MPO"}
DERIVED_MIME_TYPE = "image/jpeg"
# Bumped whenever the derived copies are made differently, so cached copies (ETags) are refreshed.
DERIVATIVE_VERSION = 1
_DISPLAY_QUALITY = 85
_THUMB_QUALITY = 80
_EXIF_DATETIME_FORMAT = "%Y:%m:%d %H:%M:%S"
# EXIF orientation -> the turn that shows the picture as the camera saw it (as ImageOps.exif_transpose,
# which also re-serialises the EXIF we are about to drop, and crashes doing so on some broken EXIF).
_UPRIGHT_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATIONS_THAT_SWAP_SIDES = {5, 6, 7, 8}


@dataclass(frozen=True)
class PhotoLimits:
    """The settings the pipeline runs under, read from the app config."""

    max_bytes: int
    max_pixels: int
    display_long_edge: int
    thumb_long_edge: int
    timezone: str

    @classmethod
    def from_config(cls, config) -> PhotoLimits:
        """Build from a Flask config (or any mapping with the same names)."""
        return cls(max_bytes=config["MAX_PHOTO_BYTES"], max_pixels=config["MAX_PHOTO_PIXELS"],
                   display_long_edge=config["DISPLAY_LONG_EDGE"], thumb_long_edge=config["THUMB_LONG_EDGE"],
                   timezone=config["TIMEZONE"])


@dataclass(frozen=True)
class PhotoMetadata:
    """What the EXIF says, each part None when absent or not believable."""

    taken_at: datetime | None = None
    taken_at_has_offset: bool = False
    gps_latitude: float | None = None
    gps_longitude: float | None = None
    camera_make: str | None = None
    camera_model: str | None = None


@dataclass(frozen=True)
class ProcessedPhoto:
    """The result of decoding an upload once: its facts and the encoded derived copies."""

    sha256: str
    mime_type: str
    width: int
    height: int
    byte_count: int
    # The size the pixels were actually decoded at (smaller than the original when JPEG draft applied).
    decoded_size: tuple[int, int]
    display_jpeg: bytes
    thumb_jpeg: bytes
    phash: str
    metadata: PhotoMetadata = field(default_factory=PhotoMetadata)

SHA256_IN_KEY = re.compile(r"([0-9a-f]{64})(?:\.jpg)?$")


def original_key(sha256: str) -> str:
    """Storage key of the untouched original."""
    return f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def display_key(sha256: str) -> str:
    """Storage key of the display copy."""
    return f"display/{sha256[:2]}/{sha256}.jpg"


def thumb_key(sha256: str) -> str:
    """Storage key of the thumbnail."""
    return f"thumbs/{sha256[:2]}/{sha256}.jpg"


def phash_bands(phash: str) -> tuple[int, int, int, int]:
    """The four 16-bit bands of a 64-bit hash (16 hex digits), as stored in phash_band0..3."""
    if len(phash) != 16:
        raise ValueError(f"a 64-bit hash has 16 hex digits, not {phash!r}")
    return tuple(int(phash[index:index + 4], 16) for index in range(0, 16, 4))


def phash_distance(first: str, second: str) -> int:
    """Hamming distance between two 64-bit hashes given as hex: 0 identical, up to 64."""
    return (int(first, 16) ^ int(second, 16)).bit_count()


def difference_hash(image: Image.Image) -> str:
    """64-bit dHash: shrink to 9x8 grey, one bit per horizontally adjacent pair (left brighter than right)."""
    pixels = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS).tobytes()
    bits = 0
    for row in range(8):
        for column in range(8):
            left = pixels[row * 9 + column]
            bits = (bits << 1) | (left > pixels[row * 9 + column + 1])
    return f"{bits:016x}"


def read_upload(upload: FileStorage | bytes | None, max_bytes: int) -> bytes:
    """The uploaded bytes, refusing a missing, empty or oversized file before anything else is done."""
    if upload is None:
        raise Invalid("请选择要上传的照片", code="file_missing", fields={"file": ["缺少照片文件"]})
    # One byte past the limit is enough to know it is too large, without reading 30 MB into memory.
    data = upload.stream.read(max_bytes + 1) if isinstance(upload, FileStorage) else bytes(upload)
    if not data:
        raise Invalid("照片文件为空", code="file_empty", fields={"file": ["文件为空"]})
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"照片不能超过 {max_bytes // (1024 * 1024)} MB", code="photo_too_large")
    return data


def process_photo_bytes(data: bytes, limits: PhotoLimits) -> ProcessedPhoto:
    """Check and decode the bytes once, read their EXIF, and make the display copy, thumbnail and hash.

    Raises UnsupportedMediaType when the bytes are not an accepted image, Invalid when they are too
    many pixels, a decompression bomb, or do not decode completely.
    """
    with warnings.catch_warnings():
        # Pillow only warns between its two bomb thresholds; here every bomb is a refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(OPENED_FORMATS))
        except UnidentifiedImageError as error:
            raise UnsupportedMediaType("只接受 JPEG、PNG、WebP 或 HEIC 格式的照片",
                                       code="unsupported_image_type") from error
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _too_many_pixels(limits) from error
        except Exception as error:  # plugins fail in many ways on hostile headers; all mean "not decodable"
            raise _undecodable() from error
        with image:
            return _process_open_image(image, data, limits)


def _process_open_image(image: ImageFile.ImageFile, data: bytes, limits: PhotoLimits) -> ProcessedPhoto:
    original_width, original_height = image.size
    if original_width * original_height > limits.max_pixels:
        raise _too_many_pixels(limits)
    mime_type = MIME_TYPES.get(image.format)
    if mime_type is None:
        raise UnsupportedMediaType("只接受 JPEG、PNG、WebP 或 HEIC 格式的照片", code="unsupported_image_type")
    if image.format in _JPEG_FORMATS:
        # Let libjpeg scale down by 1/2, 1/4 or 1/8 while decoding, never below the display size.
        image.draft("RGB", _draft_request(image.size, limits.display_long_edge))
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels(limits) from error
    except Exception as error:  # truncated or corrupt data surfaces as many exception types
        raise _undecodable() from error
    decoded_size = image.size
    exif = _safe_exif(image)
    orientation = exif.get(ExifTags.Base.Orientation, 1) if exif is not None else 1
    oriented = _as_rgb(_upright(image, orientation))
    display = _fit_long_edge(oriented, limits.display_long_edge)
    thumb = _fit_long_edge(display, limits.thumb_long_edge)
    if isinstance(orientation, int) and orientation in _ORIENTATIONS_THAT_SWAP_SIDES:
        original_width, original_height = original_height, original_width
    return ProcessedPhoto(
        sha256=hashlib.sha256(data).hexdigest(),
        mime_type=mime_type,
        width=original_width,
        height=original_height,
        byte_count=len(data),
        decoded_size=decoded_size,
        display_jpeg=_encode_without_metadata(display, _DISPLAY_QUALITY),
        thumb_jpeg=_encode_without_metadata(thumb, _THUMB_QUALITY),
        phash=difference_hash(thumb),
        metadata=read_metadata(exif, limits.timezone),
    )


def _upright(image: Image.Image, orientation: Any) -> Image.Image:
    transpose = _UPRIGHT_TRANSPOSE.get(orientation) if isinstance(orientation, int) else None
    return image.transpose(transpose) if transpose is not None else image


def _draft_request(size: tuple[int, int], long_edge: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, long_edge / max(width, height))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def _too_many_pixels(limits: PhotoLimits) -> Invalid:
    return Invalid(f"照片像素过多（上限 {limits.max_pixels // 1_000_000} 百万像素）", code="image_too_large",
                   fields={"file": ["像素过多"]})


def _undecodable() -> Invalid:
    return Invalid("照片文件已损坏或不完整", code="image_corrupt", fields={"file": ["无法完整解码"]})


def _safe_exif(image: Image.Image) -> Image.Exif | None:
    """The image's EXIF, or None when it is absent or too broken to parse: a bad EXIF never refuses a photo."""
    try:
        return image.getexif()
    except Exception:  # EXIF parsers fail in many ways on hostile input; the pixels alone still count
        return None


def _as_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flattened = Image.new("RGB", rgba.size, (255, 255, 255))
        flattened.paste(rgba, mask=rgba.getchannel("A"))
        return flattened
    return image.convert("RGB")


def _fit_long_edge(image: Image.Image, long_edge: int) -> Image.Image:
    """A copy whose longer side is at most long_edge; never enlarged."""
    width, height = image.size
    if max(width, height) <= long_edge:
        return image.copy()
    scale = long_edge / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Bicubic after an integer pre-reduction: indistinguishable from Lanczos at these sizes, and about
    # half its cost, which is most of the pipeline's time on a phone photo.
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _encode_without_metadata(image: Image.Image, quality: int) -> bytes:
    # Pillow copies info (comment, ICC profile, EXIF) along resizes and falls back to it when saving.
    image.info.clear()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def read_metadata(exif: Image.Exif | None, default_timezone: str) -> PhotoMetadata:
    """Capture time, GPS and camera from EXIF; values that cannot be true are dropped, not trusted."""
    if exif is None:
        return PhotoMetadata()
    taken_at, has_offset = _read_taken_at(exif, default_timezone)
    latitude, longitude = _read_gps(exif)
    return PhotoMetadata(taken_at=taken_at, taken_at_has_offset=has_offset, gps_latitude=latitude,
                         gps_longitude=longitude, camera_make=_clean_text(exif.get(ExifTags.Base.Make)),
                         camera_model=_clean_text(exif.get(ExifTags.Base.Model)))


def _read_taken_at(exif: Image.Exif, default_timezone: str) -> tuple[datetime | None, bool]:
    try:
        details = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:  # a broken sub-IFD only costs us the time
        return None, False
    text = _clean_text(details.get(ExifTags.Base.DateTimeOriginal))
    if not text:
        return None, False
    try:
        local = datetime.strptime(text[:19], _EXIF_DATETIME_FORMAT)
    except ValueError:
        return None, False
    offset = _parse_offset(_clean_text(details.get(ExifTags.Base.OffsetTimeOriginal)))
    if offset is None:
        return local.replace(tzinfo=ZoneInfo(default_timezone)), False
    return local.replace(tzinfo=offset), True


def _parse_offset(text: str | None) -> timezone | None:
    """EXIF's "+08:00" / "-05:00" as a timezone; anything else None."""
    if not text or len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes >= 60:
        return None
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _read_gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # a broken GPS IFD is the same as none
        return None, None
    latitude = _signed_degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "NS")
    longitude = _signed_degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "EW")
    # Half a position is no position, and (0, 0) is what some phones write when they had no fix.
    if latitude is None or longitude is None or (latitude == 0 and longitude == 0):
        return None, None
    if not (is_latitude(latitude) and is_longitude(longitude)):
        return None, None
    return latitude, longitude


def _signed_degrees(value: Any, reference: Any, hemispheres: str) -> float | None:
    """Degrees/minutes/seconds rationals and an N/S or E/W reference as signed decimal degrees."""
    if not isinstance(value, Iterable) or isinstance(value, (str, bytes)):
        return None
    try:
        parts = [float(part) for part in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if len(parts) != 3 or not all(math.isfinite(part) and part >= 0 for part in parts):
        return None
    degrees, minutes, seconds = parts
    if minutes >= 60 or seconds >= 60:
        return None
    decimal = degrees + minutes / 60 + seconds / 3600
    reference = _clean_text(reference)
    if not reference or reference[0].upper() not in hemispheres:
        return None
    return -decimal if reference[0].upper() == hemispheres[1] else decimal


def _clean_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:64] or None


