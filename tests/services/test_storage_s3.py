"""The S3 storage backend against moto's standalone server on loopback: the filesystem backend's contract."""

import hashlib
import urllib.request
from datetime import UTC

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from services.storage import InvalidStorageKey, MissingObject, S3Storage, get_storage, s3_from_config
from tests.conftest import bucket_client, refuse_puts_after


@pytest.fixture
def storage(s3_app) -> S3Storage:
    built = get_storage()
    assert isinstance(built, S3Storage)
    return built


def bucket_keys(settings) -> list[str]:
    listed = bucket_client(settings).list_objects_v2(Bucket=settings["S3_BUCKET"])
    return sorted(item["Key"] for item in listed.get("Contents", ()))


def test_put_get_exists_delete_under_the_key_prefix(storage, s3_settings):
    storage.put("originals/ab/cd/abcd", b"evidence")
    assert storage.exists("originals/ab/cd/abcd")
    assert storage.get("originals/ab/cd/abcd") == b"evidence"
    assert bucket_keys(s3_settings) == ["zoufang/originals/ab/cd/abcd"]
    assert storage.stored_sha256("originals/ab/cd/abcd") == hashlib.sha256(b"evidence").hexdigest()
    storage.delete("originals/ab/cd/abcd")
    storage.delete("originals/ab/cd/abcd")  # deleting twice is fine
    assert not storage.exists("originals/ab/cd/abcd")
    with pytest.raises(MissingObject):
        storage.get("originals/ab/cd/abcd")
    with pytest.raises(MissingObject):
        storage.stream("originals/ab/cd/abcd")


def test_keys_that_are_not_plain_names_are_refused_before_any_request(storage, s3_settings):
    for key in ("../outside", "originals/../x", "/abs", "Originals/X"):
        with pytest.raises(InvalidStorageKey):
            storage.put(key, b"x")
    assert bucket_keys(s3_settings) == []


def test_listing_is_per_prefix_with_aware_times_and_batch_delete(storage):
    for index in range(3):
        storage.put(f"originals/aa/{index}", b"1")
    storage.put("thumbs/aa/one.jpg", b"2")
    listed = list(storage.iter_objects("originals/"))
    assert sorted(item.key for item in listed) == ["originals/aa/0", "originals/aa/1", "originals/aa/2"]
    assert all(item.modified_at.tzinfo == UTC for item in listed)
    storage.delete_many(["originals/aa/0", "originals/aa/2", "originals/aa/never-there"])
    assert sorted(item.key for item in storage.iter_objects()) == ["originals/aa/1", "thumbs/aa/one.jpg"]


def test_stream_gives_the_bytes_in_chunks_with_their_length(storage):
    data = bytes(range(256)) * 1000
    storage.put("display/ab/big.jpg", data)
    chunks, length = storage.stream("display/ab/big.jpg", chunk_size=10_000)
    received = list(chunks)
    assert length == len(data) and b"".join(received) == data and len(received) > 1


def test_a_presigned_url_serves_the_object_for_a_while(storage):
    storage.put("thumbs/ab/one.jpg", b"jpeg bytes")
    url = storage.presigned_url("thumbs/ab/one.jpg", expires_in=60, content_type="image/jpeg",
                                cache_control="private, max-age=60")
    assert url.startswith("http://127.0.0.1:") and "X-Amz-Expires=60" in url
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback only: the moto server
        assert response.read() == b"jpeg bytes"
        assert response.headers["Content-Type"] == "image/jpeg"


def test_a_failed_put_raises_and_leaves_no_object(storage, s3_settings):
    """The server cannot be reached for the write: the caller sees the error and nothing is stored."""
    storage.put("originals/ab/cd/first", b"stored")
    refuse_puts_after(storage, successful=0)
    with pytest.raises(EndpointConnectionError):
        storage.put("originals/ab/cd/refused", b"x" * 1000)
    assert bucket_keys(s3_settings) == ["zoufang/originals/ab/cd/first"]


def test_check_passes_for_the_bucket_and_fails_for_a_missing_one(s3_app, s3_settings):
    get_storage().check()
    s3_app.config["S3_BUCKET"] = "no-such-bucket-here"
    with pytest.raises(ClientError):
        s3_from_config(s3_app).check()


def test_settings_choose_addressing_style_and_prefix(s3_app):
    s3_app.config.update(S3_ADDRESSING_STYLE="virtual", S3_KEY_PREFIX="/city/")
    built = s3_from_config(s3_app)
    assert built.client.meta.config.s3["addressing_style"] == "virtual"
    assert built.prefix == "city/"
    s3_app.config["S3_ADDRESSING_STYLE"] = "sideways"
    with pytest.raises(RuntimeError, match="S3_ADDRESSING_STYLE"):
        s3_from_config(s3_app)
    s3_app.config.update(S3_ADDRESSING_STYLE="path", S3_BUCKET="")
    with pytest.raises(RuntimeError, match="S3_BUCKET"):
        s3_from_config(s3_app)
