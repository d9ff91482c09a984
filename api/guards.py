"""Guards against hostile input, installed app-wide by create_app (the admin is covered too).

Input the database cannot take (a NUL byte, a lone UTF-16 surrogate, an integer beyond the column's
range) and bodies the parser cannot read (JSON nested thousands deep, a broken chunked encoding) are
refused at the edge with a 4xx, before any view or query sees them, instead of failing as a 500 deep
inside a query.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import Request, request
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter

from models.types import INT_MAX, INT_MIN, in_column_range
from models.types import is_storable_text as is_valid_text


def first_unstorable(payload) -> tuple[str, str] | None:
    """(field path, reason) of the first value of a decoded JSON body the database could not take, else None.

    Walks iteratively: a deeply nested body must not turn into a RecursionError here.
    """
    stack: list[tuple[str, object]] = [("", payload)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if not is_valid_text(value):
                return path or "_schema", "含有无效字符（NUL 或不成对的代理字符）"
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            if not in_column_range(value):
                return path or "_schema", f"须在 {INT_MIN} 与 {INT_MAX} 之间"
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if not is_valid_text(str(key)):
                    return path or "_schema", "字段名含有无效字符"
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{index}" if path else str(index), item) for index, item in enumerate(value))
    return None


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in routes: an id beyond the columns' range is a 404 (whatever the method) before any query."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if not in_column_range(number):
            raise NotFound()
        return number


class GuardedRequest(Request):
    """A request whose body errors are the client's: unreadable or absurdly nested bodies are a 400."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise BadRequest("JSON 嵌套过深") from None

    def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False):
        try:
            return super().get_data(cache=cache, as_text=as_text, parse_form_data=parse_form_data)
        except (OSError, ValueError, ParseException):
            raise BadRequest("请求体无法读取") from None

    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        except (OSError, ParseException):
            raise BadRequest("请求体无法读取") from None


def reject_unstorable_text() -> None:
    """before_request: a NUL byte or lone surrogate in the path, query string or form fields is a 400."""
    if not is_valid_text(request.path):
        raise BadRequest("请求含有无效字符")
    sources = [request.args]
    if request.method in {"POST", "PUT", "PATCH"} and request.mimetype in {
        "application/x-www-form-urlencoded", "multipart/form-data"
    }:
        sources.append(request.form)
    for source in sources:
        for key, values in source.lists():
            if not is_valid_text(key) or not all(is_valid_text(value) for value in values):
                raise BadRequest("请求含有无效字符")
    for storage in request.files.values() if len(sources) > 1 else ():
        if storage.filename and not is_valid_text(storage.filename):
            raise BadRequest("文件名含有无效字符")


def content_security_policy(config: Mapping) -> str:
    """The Content-Security-Policy of every response: scripts only from this site's files (no inline script,
    no handlers in attributes), no framing; images also from the review map's tile server."""
    tiles = urlsplit(config.get("MAP_TILE_URL", ""))
    labels = tiles.netloc.split(".")
    # "webrd0{s}.is.autonavi.com": Leaflet fills in {s}; CSP allows a wildcard only as a whole leftmost label.
    templated = [index for index, label in enumerate(labels) if "{" in label]
    host = "*." + ".".join(labels[templated[-1] + 1:]) if templated else tiles.netloc
    tile_host = f"{tiles.scheme}://{host}" if tiles.scheme and tiles.netloc else ""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        # Bootstrap and Flask-Admin set style attributes; styles cannot run code.
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob: {tile_host}".strip(),
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])
