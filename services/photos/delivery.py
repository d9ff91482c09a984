"""Serving a photo's derived copies to the users allowed to see it; the original is never served here.

The phone API and the admin site both answer photo requests with photo_variant_response, so who sees
a photo and which headers protect it are decided once.
"""

from __future__ import annotations

from flask import Response, current_app, redirect, request

from models import Photo, User
from services.errors import NotFound
from services.permissions import get_photo_for
from services.photos.pipeline import DERIVATIVE_VERSION, DERIVED_MIME_TYPE
from services.storage import MissingObject, get_storage

VARIANTS = ("display", "thumb")
# Copies never change under an id, but who may see them can: keep browser caching short and private.
DEFAULT_CACHE_SECONDS = 3600


def variant_key(photo: Photo, variant: str) -> str:
    """Storage key of the photo's display copy or thumbnail."""
    if variant == "display":
        return photo.display_key
    if variant == "thumb":
        return photo.thumb_key
    raise NotFound("照片不存在", code="photo_not_found")


def variant_etag(photo: Photo, variant: str) -> str:
    """A strong validator: the copy's bytes follow from the original's sha256, the variant and the pipeline."""
    return f"{photo.sha256[:32]}-{variant}-v{DERIVATIVE_VERSION}"


def photo_variant_response(user: User, photo_id: int, variant: str) -> Response:
    """The photo's display copy or thumbnail as a response, 304 when the client's copy is current.

    Anyone not allowed to see the photo gets NotFound, as if it did not exist.
    """
    photo = get_photo_for(user, photo_id)
    key = variant_key(photo, variant)
    etag = variant_etag(photo, variant)
    cache_seconds = current_app.config.get("PHOTO_CACHE_SECONDS", DEFAULT_CACHE_SECONDS)
    cache_control = f"private, max-age={cache_seconds}"
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        redirected = _redirect_to_object(key, cache_control)
        if redirected is not None:
            return _not_shared(redirected)
        response = _streamed_object(photo, variant, key)
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    return _not_shared(response)


def _not_shared(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The same URL answers differently per user: shared caches must not mix them up.
    response.vary.add("Authorization")
    response.vary.add("Cookie")
    return response


def _redirect_to_object(key: str, cache_control: str) -> Response | None:
    """A redirect to a short-lived presigned URL when configured and the backend can make one."""
    if current_app.config.get("PHOTO_DELIVERY", "stream") != "redirect":
        return None
    url = get_storage().presigned_url(key, expires_in=current_app.config.get("PHOTO_URL_SECONDS", 300),
                                      content_type=DERIVED_MIME_TYPE, cache_control=cache_control)
    if url is None:
        return None
    response = redirect(url, code=302)
    # The redirect itself must not outlive its URL's signature.
    response.headers["Cache-Control"] = "no-store"
    return response


def _streamed_object(photo: Photo, variant: str, key: str) -> Response:
    try:
        chunks, length = get_storage().stream(key)
    except MissingObject as error:
        current_app.logger.error("photo %s: stored %s copy %s is missing", photo.id, variant, key)
        raise NotFound("照片文件不存在", code="photo_file_missing") from error
    response = Response(chunks, mimetype=DERIVED_MIME_TYPE, direct_passthrough=True)
    response.content_length = length
    return response
