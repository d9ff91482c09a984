"""POST /photos (one photo per request); GET /photos/<id> (display copy) and /photos/<id>/thumb, one view."""

from flask import jsonify
from marshmallow import ValidationError, fields
from werkzeug.datastructures import FileStorage

from api.parsing import load_files
from api.schema import ApiSchema
from api.v1.blueprint import bp
from api.v1.schemas import PhotoSchema
from api.v1.security import current_user, token_required
from services.photos.delivery import photo_variant_response
from services.photos.intake import store_photo


class UploadedFileField(fields.Field):
    """A file part of a multipart body."""

    def _deserialize(self, value, _attr, _data, **kwargs):
        if isinstance(value, list):
            raise ValidationError("每次只能上传一张照片（一个 file 字段）")
        if not isinstance(value, FileStorage):
            raise ValidationError("须为文件")
        return value


class PhotoUploadSchema(ApiSchema):
    """The multipart body of an upload: one photo in the field `file`, as wx.uploadFile sends it."""

    file = UploadedFileField(required=True, error_messages={"required": "缺少照片文件（字段 file）"})


@bp.post("/photos")
@token_required
def upload_photo():
    """Upload one photo.
    ---
    post:
      tags: [photos]
      summary: Upload one photo (multipart field `file`); the same bytes again return the same photo
      description: >-
        JPEG, PNG, WebP or HEIC/HEIF, judged by content. Up to 20 MB and 64 megapixels. The original is kept as
        evidence and never served; `url` and `thumb_url` give copies with orientation applied and metadata removed.
      security: [{bearerAuth: []}]
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {type: object, required: [file], properties: {file: {type: string, format: binary}}}
      responses:
        201:
          description: Stored
          content:
            application/json:
              schema: PhotoSchema
        200:
          description: The same bytes were uploaded before by this user; that photo is returned
          content: {application/json: {schema: PhotoSchema}}
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        413: {$ref: '#/components/responses/PayloadTooLarge'}
        415: {$ref: '#/components/responses/UnsupportedMediaType'}
        422: {$ref: '#/components/responses/ValidationError'}
    """
    upload = load_files(PhotoUploadSchema())
    photo, created = store_photo(current_user(), upload["file"])
    return jsonify(PhotoSchema().dump(photo)), 201 if created else 200


@bp.get("/photos/<int:photo_id>", endpoint="get_photo", defaults={"variant": "display"})
@bp.get("/photos/<int:photo_id>/thumb", endpoint="get_photo_thumb", defaults={"variant": "thumb"})
@token_required
def get_photo_variant(photo_id: int, variant: str):
    """Download a derived copy of a photo: the display copy at /photos/<id>, the thumbnail at /photos/<id>/thumb.
    ---
    get:
      tags: [photos]
      summary: A copy of a photo you may see, as JPEG without metadata (display copy 1600 px, thumbnail 320 px)
      description: >-
        `/photos/{photo_id}` is the display copy (long edge 1600 px), `/photos/{photo_id}/thumb` the thumbnail
        (long edge 320 px); the photo's `url` and `thumb_url` point at them.
      security: [{bearerAuth: []}]
      parameters:
        - {in: path, name: photo_id, required: true, schema: {type: integer}}
        - {in: header, name: If-None-Match, required: false, schema: {type: string}}
      responses:
        200:
          description: The JPEG; cache it privately and revalidate with its ETag
          headers:
            ETag: {schema: {type: string}, example: '"9f86d081884c7d659a2feaa0c55ad015-display-v1"'}
            Cache-Control: {schema: {type: string}, example: 'private, max-age=3600'}
          content: {image/jpeg: {schema: {type: string, format: binary}, example: (JPEG bytes)}}
        304: {description: Not modified; the copy the client holds is current}
        401: {$ref: '#/components/responses/Unauthorized'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    return photo_variant_response(current_user(), photo_id, variant)
