"""The photo pipeline: accepted formats, one decode in draft mode, orientation, stripped copies, EXIF facts,
perceptual hash, deduplication, cleanup after failures, and pruning of orphaned files."""

import hashlib
import io
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms
from sqlalchemy import event, func, insert, select

from extensions import db
from models import Photo, utcnow
from services.errors import Invalid, PayloadTooLarge, UnsupportedMediaType
from services.photos.intake import store_photo
from services.photos.pipeline import (
    PhotoLimits,
    difference_hash,
    display_key,
    original_key,
    phash_bands,
    phash_distance,
    process_photo_bytes,
    thumb_key,
)
from services.photos.prune import prune_orphan_files
from services.storage import get_storage
from tests.factories import image_bytes, make_reviewable_visit, make_worker, photo_exif

# Pillow keeps only these JPEG header facts when it writes a file with no metadata.
JFIF_ONLY = {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "progressive", "progression"}


@pytest.fixture
def limits(app) -> PhotoLimits:
    return PhotoLimits.from_config(app.config)


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def stored_files(app) -> list[str]:
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def photo_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Photo))


def is_red(pixel) -> bool:
    red, green, blue = pixel[:3]
    return red > 200 and green < 60 and blue < 60


# --- formats ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "mime_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_jpeg_png_and_webp_are_accepted_and_derived_as_jpeg(limits, fmt, mime_type):
    processed = process_photo_bytes(image_bytes(fmt, (800, 600)), limits)
    assert (processed.mime_type, processed.width, processed.height) == (mime_type, 800, 600)
    display, thumb = decoded(processed.display_jpeg), decoded(processed.thumb_jpeg)
    assert (display.format, display.size) == ("JPEG", (800, 600))  # never enlarged
    assert (thumb.format, thumb.size) == ("JPEG", (320, 240))


def test_a_jpeg_with_extra_frames_mpo_is_a_jpeg(limits):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, "MPO", save_all=True,
                                           append_images=[Image.new("RGB", (64, 48), "blue")])
    assert process_photo_bytes(buffer.getvalue(), limits).mime_type == "image/jpeg"


def test_transparent_png_is_flattened_onto_white(limits):
    processed = process_photo_bytes(image_bytes("PNG", (100, 100), alpha=True), limits)
    assert decoded(processed.display_jpeg).mode == "RGB"


@pytest.mark.parametrize(("fmt", "mode"), [("JPEG", "L"), ("JPEG", "CMYK"), ("PNG", "P"), ("PNG", "LA"), ("PNG", "1"),
                                           ("WEBP", "RGBA")])
def test_every_colour_mode_comes_out_as_an_rgb_jpeg(limits, fmt, mode):
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 30, 30)).convert(mode).save(buffer, fmt)
    processed = process_photo_bytes(buffer.getvalue(), limits)
    assert decoded(processed.display_jpeg).mode == decoded(processed.thumb_jpeg).mode == "RGB"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "AVIF"])
def test_other_image_formats_are_refused_as_unsupported(limits, fmt):
    with pytest.raises(UnsupportedMediaType):
        process_photo_bytes(image_bytes(fmt, (64, 48)), limits)


# --- one decode, draft mode, orientation -------------------------------------------------------------------


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_that_still_covers_the_display_size(limits):
    processed = process_photo_bytes(image_bytes("JPEG", (4000, 3000)), limits)
    assert processed.decoded_size == (2000, 1500)
    assert (processed.width, processed.height) == (4000, 3000)  # the original's size is still reported
    assert decoded(processed.display_jpeg).size == (1600, 1200)
    assert decoded(processed.thumb_jpeg).size == (320, 240)


def test_a_png_cannot_be_drafted_and_is_decoded_in_full(limits):
    processed = process_photo_bytes(image_bytes("PNG", (2400, 1800)), limits)
    assert processed.decoded_size == (2400, 1800)
    assert decoded(processed.display_jpeg).size == (1600, 1200)


@pytest.mark.parametrize(("orientation", "red_corner"), [(3, "right"), (6, "top"), (8, "bottom")])
def test_exif_orientation_is_applied_to_the_derived_copies(limits, orientation, red_corner):
    """The stored pixels' left column is red; after turning, it must be where the camera meant it."""
    data = image_bytes("JPEG", (800, 600), exif=photo_exif(orientation=orientation))
    processed = process_photo_bytes(data, limits)
    display = decoded(processed.display_jpeg)
    width, height = display.size
    if orientation == 3:
        assert (width, height) == (800, 600)
    else:
        assert (width, height) == (600, 800)
        assert (processed.width, processed.height) == (600, 800)
    probe = {"right": (width - 5, height // 2), "top": (width // 2, 5), "bottom": (width // 2, height - 5)}
    assert is_red(display.getpixel(probe[red_corner]))
    assert decoded(processed.thumb_jpeg).size == ((320, 240) if orientation == 3 else (240, 320))


def test_orientation_does_not_change_the_perceptual_hash(limits):
    upright = process_photo_bytes(image_bytes("JPEG", (800, 600), seed=7), limits)
    rotated_source = Image.open(io.BytesIO(image_bytes("JPEG", (800, 600), seed=7))).rotate(90, expand=True)
    buffer = io.BytesIO()
    rotated_source.save(buffer, "JPEG", exif=photo_exif(orientation=6))
    turned_back = process_photo_bytes(buffer.getvalue(), limits)
    assert phash_distance(upright.phash, turned_back.phash) <= 3


def test_exif_with_a_wrongly_typed_value_still_turns_the_photo_and_drops_the_value(limits):
    """A GPS reference stored as a number instead of text (Pillow cannot even write such EXIF back)."""
    data = image_bytes("JPEG", (800, 600), exif=photo_exif(orientation=6, gps=(21.6, 110.9)))
    ascii_entry = b"\x00\x03\x00\x02\x00\x00\x00\x02"  # big-endian IFD entry: GPSLongitudeRef, ASCII, 2 chars
    assert ascii_entry in data
    broken = data.replace(ascii_entry, b"\x00\x03\x00\x08\x00\x00\x00\x02", 1)
    processed = process_photo_bytes(broken, limits)
    assert decoded(processed.display_jpeg).size == (600, 800)
    assert processed.metadata.gps_latitude is None and processed.metadata.gps_longitude is None


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow reports each corrupt EXIF entry it skips
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_damaged_bytes_are_accepted_or_refused_but_never_crash(limits, fmt):
    """Seeded random damage to the headers and data of a photo with EXIF: only a photo or a 4xx refusal."""
    original = image_bytes(fmt, (300, 200), seed=3, exif=photo_exif(orientation=6, taken="2024:05:06 09:41:12",
                                                                     offset="+08:00", gps=(21.6, 110.9), make="X"))
    rng = random.Random(fmt)
    outcomes = set()
    for _ in range(150):
        damaged = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(min(len(damaged), 600))] = rng.randrange(256)
        try:
            process_photo_bytes(bytes(damaged), limits)
            outcomes.add("accepted")
        except (Invalid, UnsupportedMediaType) as refusal:
            outcomes.add(refusal.status)
    assert "accepted" in outcomes and outcomes - {"accepted"}  # both paths were exercised


# --- metadata stripped from what is served -----------------------------------------------------------------


def test_derived_copies_carry_no_exif_gps_icc_profile_or_comment(limits):
    icc_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = image_bytes("JPEG", (800, 600), exif=photo_exif(taken="2024:05:06 09:41:12", gps=(21.66, 110.92),
                                                         make="HUAWEI"),
                       icc_profile=icc_profile, comment=b"home of a vulnerable person")
    source = Image.open(io.BytesIO(data))
    assert {"exif", "icc_profile", "comment"} <= set(source.info)  # the test's input really has them
    processed = process_photo_bytes(data, limits)
    for copy in (processed.display_jpeg, processed.thumb_jpeg):
        image = decoded(copy)
        assert set(image.info) <= JFIF_ONLY
        assert len(image.getexif()) == 0
        assert b"Exif" not in copy and b"vulnerable" not in copy and b"ICC_PROFILE" not in copy


# --- EXIF facts ---------------------------------------------------------------------------------------------


def test_capture_time_with_its_offset(limits):
    data = image_bytes(exif=photo_exif(taken="2024:05:06 09:41:12", offset="-05:00"))
    metadata = process_photo_bytes(data, limits).metadata
    assert metadata.taken_at == datetime(2024, 5, 6, 14, 41, 12, tzinfo=UTC)
    assert metadata.taken_at_has_offset is True


def test_capture_time_without_offset_is_taken_as_the_configured_time_zone(limits):
    data = image_bytes(exif=photo_exif(taken="2024:05:06 09:41:12"))
    metadata = process_photo_bytes(data, limits).metadata
    assert limits.timezone == "Asia/Shanghai"
    assert metadata.taken_at == datetime(2024, 5, 6, 1, 41, 12, tzinfo=UTC)
    assert metadata.taken_at_has_offset is False


@pytest.mark.parametrize("taken", ["0000:00:00 00:00:00", "    :  :     :  :  ", "garbage"])
def test_an_unreadable_capture_time_is_dropped_not_refused(limits, taken):
    assert process_photo_bytes(image_bytes(exif=photo_exif(taken=taken)), limits).metadata.taken_at is None


@pytest.mark.parametrize(("position", "expected"), [
    ((21.665, 110.928), (21.665, 110.928)),
    ((-33.8688, -151.2093), (-33.8688, -151.2093)),
])
def test_gps_and_camera_are_read(limits, position, expected):
    data = image_bytes(exif=photo_exif(gps=position, make="HUAWEI\x00", model=" ELS-AN00 "))
    metadata = process_photo_bytes(data, limits).metadata
    assert metadata.gps_latitude == pytest.approx(expected[0], abs=1e-5)
    assert metadata.gps_longitude == pytest.approx(expected[1], abs=1e-5)
    assert (metadata.camera_make, metadata.camera_model) == ("HUAWEI", "ELS-AN00")


@pytest.mark.parametrize("gps_tags", [
    {2: (4294967295.0, 0.0, 0.0), 1: "N", 4: (11.0, 53.0, 6.4), 3: "E"},  # impossible latitude
    {1: "N", 2: (43.0, 28.0, 2.8)},  # latitude without longitude
    {2: (95.0, 0.0, 0.0), 1: "N", 4: (11.0, 53.0, 6.4), 3: "E"},  # past the pole
    {2: (43.0, 75.0, 0.0), 1: "N", 4: (11.0, 53.0, 6.4), 3: "E"},  # 75 minutes
    {2: (43.0, 28.0, 2.8), 1: "X", 4: (11.0, 53.0, 6.4), 3: "E"},  # no hemisphere
    {2: (0.0, 0.0, 0.0), 1: "N", 4: (0.0, 0.0, 0.0), 3: "E"},  # what phones write without a fix
])
def test_impossible_gps_is_ignored_and_the_photo_accepted(limits, gps_tags):
    processed = process_photo_bytes(_jpeg_with_gps_tags(gps_tags), limits)
    assert processed.metadata.gps_latitude is None and processed.metadata.gps_longitude is None


def _jpeg_with_gps_tags(gps_tags: dict) -> bytes:
    exif = photo_exif()
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(gps_tags)
    return image_bytes(exif=exif)


# --- refusals ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [
    b"just some text, named photo.jpg",
    b"<!DOCTYPE html><html><body>not a photo</body></html>",
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
])
def test_things_that_are_not_images_are_unsupported(limits, data):
    with pytest.raises(UnsupportedMediaType):
        process_photo_bytes(data, limits)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_truncated_image_is_refused(limits, fmt):
    data = image_bytes(fmt, (640, 480), quality=95) if fmt != "PNG" else image_bytes(fmt, (640, 480))
    with pytest.raises(Invalid) as refusal:
        process_photo_bytes(data[: len(data) * 2 // 3], limits)
    assert refusal.value.code == "image_corrupt"


def test_a_truncated_jpeg_whose_exif_still_reads_is_refused(limits):
    data = image_bytes("JPEG", (640, 480), exif=photo_exif(taken="2024:05:06 09:41:12", gps=(21.66, 110.92)))
    head = data[: len(data) // 2]
    assert Image.open(io.BytesIO(head)).getexif()  # the EXIF alone would pass
    with pytest.raises(Invalid):
        process_photo_bytes(head, limits)


def test_more_pixels_than_configured_is_refused_before_decoding(app):
    limits = PhotoLimits.from_config({**app.config, "MAX_PHOTO_PIXELS": 1_000_000})
    with pytest.raises(Invalid) as refusal:
        process_photo_bytes(image_bytes("PNG", (1001, 1000)), limits)
    assert refusal.value.code == "image_too_large"


@pytest.mark.parametrize("size", [(20_000, 10_000), (10_000, 10_000)])
def test_decompression_bombs_are_refused_not_crashed_on(limits, size):
    """200 Mpx trips Pillow's bomb error, 100 Mpx its warning; both are a 422 here."""
    buffer = io.BytesIO()
    Image.new("1", size).save(buffer, "PNG")
    with pytest.raises(Invalid) as refusal:
        process_photo_bytes(buffer.getvalue(), limits)
    assert refusal.value.code == "image_too_large"


def test_an_empty_or_oversized_upload_is_refused_before_decoding(app):
    worker = make_worker()
    with pytest.raises(Invalid):
        store_photo(worker, b"")
    with pytest.raises(Invalid):
        store_photo(worker, None)
    app.config["MAX_PHOTO_BYTES"] = 1000
    with pytest.raises(PayloadTooLarge):
        store_photo(worker, image_bytes())
    assert photo_count() == 0 and stored_files(app) == []


# --- perceptual hash --------------------------------------------------------------------------------------


def test_phash_helpers():
    assert phash_bands("0123456789abcdef") == (0x0123, 0x4567, 0x89AB, 0xCDEF)
    assert phash_distance("0000000000000000", "000000000000000f") == 4
    assert phash_distance("ffffffffffffffff", "0000000000000000") == 64
    with pytest.raises(ValueError):
        phash_bands("abc")


def test_a_recompressed_smaller_copy_is_near_identical_and_another_photo_is_not():
    original = Image.open(io.BytesIO(image_bytes("JPEG", (1200, 900), seed=11)))
    recompressed = Image.open(io.BytesIO(image_bytes("JPEG", (600, 450), seed=11, quality=40)))
    other = Image.open(io.BytesIO(image_bytes("JPEG", (1200, 900), seed=12)))
    assert phash_distance(difference_hash(original), difference_hash(recompressed)) <= 3
    assert phash_distance(difference_hash(original), difference_hash(other)) > 10


# --- store_photo --------------------------------------------------------------------------------------------


def test_store_photo_keeps_the_original_untouched_and_records_its_facts(app):
    worker = make_worker()
    data = image_bytes("JPEG", (1000, 750), exif=photo_exif(taken="2024:05:06 09:41:12", offset="+08:00",
                                                            gps=(21.665, 110.928), make="HUAWEI", model="P40"))
    photo, created = store_photo(worker, data)
    assert created is True
    db.session.expire_all()
    photo = db.session.get(Photo, photo.id)
    storage = get_storage()
    assert storage.get(photo.storage_key) == data
    assert photo.storage_key == original_key(photo.sha256)
    assert decoded(storage.get(photo.display_key)).size == (1000, 750)
    assert decoded(storage.get(photo.thumb_key)).size == (320, 240)
    assert (photo.width, photo.height, photo.bytes, photo.mime_type) == (1000, 750, len(data), "image/jpeg")
    assert photo.taken_at == datetime(2024, 5, 6, 1, 41, 12, tzinfo=UTC) and photo.taken_at_has_offset
    assert photo.gps == {"lat": pytest.approx(21.665, abs=1e-5), "lon": pytest.approx(110.928, abs=1e-5)}
    assert (photo.camera_make, photo.camera_model) == ("HUAWEI", "P40")
    assert len(photo.phash) == 16
    assert (photo.phash_band0, photo.phash_band1, photo.phash_band2, photo.phash_band3) == phash_bands(photo.phash)
    assert stored_files(app) == sorted([photo.storage_key, photo.display_key, photo.thumb_key])


def test_the_same_bytes_from_the_same_owner_give_back_the_same_photo(app):
    worker = make_worker()
    data = image_bytes()
    first, created_first = store_photo(worker, data)
    again, created_again = store_photo(worker, data)
    assert (created_first, created_again) == (True, False)
    assert again.id == first.id and photo_count() == 1


def test_the_same_bytes_from_another_worker_are_a_separate_photo_sharing_the_files(app):
    data = image_bytes()
    mine, _ = store_photo(make_worker(), data)
    theirs, created = store_photo(make_worker(), data)
    assert created and theirs.id != mine.id
    assert theirs.storage_key == mine.storage_key
    assert len(stored_files(app)) == 3


def test_a_concurrent_upload_of_the_same_bytes_that_commits_first_wins(app):
    """Another request inserts the same (owner, sha256) between our lookup and our commit."""
    worker = make_worker()
    data = image_bytes()
    sha256 = hashlib.sha256(data).hexdigest()

    def competitor_commits_first(session, _context, _instances):
        with db.engine.begin() as other_connection:
            other_connection.execute(insert(Photo).values(
                owner_id=worker.id, sha256=sha256, storage_key=original_key(sha256), display_key=display_key(sha256),
                thumb_key=thumb_key(sha256), mime_type="image/jpeg", width=640, height=480, bytes=len(data),
                taken_at_has_offset=False, position=0, created_at=utcnow()))

    event.listen(db.session(), "before_flush", competitor_commits_first, once=True)
    photo, created = store_photo(worker, data)
    assert created is False
    assert photo_count() == 1 and photo.sha256 == sha256
    # The winner's row points at the files this call wrote: they stay.
    assert stored_files(app) == sorted([original_key(sha256), display_key(sha256), thumb_key(sha256)])


class DatabaseWentAway(Exception):
    pass


def _fail_next_flush():
    def fail(session, _context, _instances):
        raise DatabaseWentAway

    event.listen(db.session(), "before_flush", fail, once=True)


def test_a_failed_commit_removes_the_files_this_upload_wrote(app):
    _fail_next_flush()
    with pytest.raises(DatabaseWentAway):
        store_photo(make_worker(), image_bytes())
    assert photo_count() == 0 and stored_files(app) == []


def test_a_failed_commit_never_removes_files_another_photo_uses(app):
    data = image_bytes()
    theirs, _ = store_photo(make_worker(), data)
    _fail_next_flush()
    with pytest.raises(DatabaseWentAway):
        store_photo(make_worker(), data)
    assert photo_count() == 1
    assert stored_files(app) == sorted([theirs.storage_key, theirs.display_key, theirs.thumb_key])


# --- pruning ----------------------------------------------------------------------------------------------


def _age(app, key: str, hours: float) -> None:
    moment = (utcnow() - timedelta(hours=hours)).timestamp()
    os.utime(Path(app.config["UPLOAD_DIR"]) / key, (moment, moment))


def test_prune_removes_old_orphans_and_keeps_referenced_and_young_files(app):
    kept, _ = store_photo(make_worker(), image_bytes())
    storage = get_storage()
    storage.put("originals/aa/bb/" + "a" * 64, b"crashed before commit")
    storage.put("thumbs/cc/" + "c" * 64 + ".jpg", b"just written, commit still running")
    for key in (kept.storage_key, kept.display_key, kept.thumb_key, "originals/aa/bb/" + "a" * 64):
        _age(app, key, hours=3)
    report = prune_orphan_files(min_age=timedelta(hours=1))
    assert report.files_deleted == 1
    assert stored_files(app) == sorted([kept.storage_key, kept.display_key, kept.thumb_key,
                                        "thumbs/cc/" + "c" * 64 + ".jpg"])


def test_prune_can_delete_long_unattached_photos_but_never_attached_ones(app):
    worker = make_worker()
    attached, _ = store_photo(worker, image_bytes())
    visit = make_reviewable_visit(worker)
    attached.visit_id = visit.id
    abandoned, _ = store_photo(worker, image_bytes())
    recent, _ = store_photo(worker, image_bytes())
    for photo in (attached, abandoned):
        photo.created_at = utcnow() - timedelta(days=40)
        for key in (photo.storage_key, photo.display_key, photo.thumb_key):
            _age(app, key, hours=40 * 24)
    db.session.commit()
    abandoned_keys = {abandoned.storage_key, abandoned.display_key, abandoned.thumb_key}
    report = prune_orphan_files(unattached_older_than=timedelta(days=30))
    assert report.photos_deleted == 1 and report.files_deleted == 3
    assert set(db.session.scalars(select(Photo.id))) == {attached.id, recent.id}
    assert not abandoned_keys & set(stored_files(app))


def test_prune_refuses_to_delete_photos_an_offline_phone_may_still_submit(app):
    with pytest.raises(Invalid):
        prune_orphan_files(unattached_older_than=timedelta(days=3))


# --- the real photos of ../shared/testdata/photos -----------------------------------------------------------


def test_a_real_12_mpx_phone_photo_is_decoded_at_half_scale(limits, shared_photos):
    processed = process_photo_bytes((shared_photos / "phone" / "12mp_4032x3024.jpg").read_bytes(), limits)
    assert processed.decoded_size == (2016, 1512)
    assert decoded(processed.display_jpeg).size == (1600, 1200)


def test_a_re_encoded_copy_without_exif_is_near_identical_to_its_camera_original(limits, shared_photos):
    original = process_photo_bytes((shared_photos / "gps" / "DSCN0010.jpg").read_bytes(), limits)
    wechat_copy = process_photo_bytes((shared_photos / "formats" / "wechat_like_stripped.jpg").read_bytes(), limits)
    assert original.sha256 != wechat_copy.sha256
    assert phash_distance(original.phash, wechat_copy.phash) <= 3
    assert wechat_copy.metadata.taken_at is None and wechat_copy.metadata.gps_latitude is None
