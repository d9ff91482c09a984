"""The workers' H5 phone client at /m/: an offline-first page for WeChat's built-in browser and phone browsers.

The client is plain ES modules and CSS under mobile/static/, served by the app itself (no CDN, no build
step). It talks only to the public /api/v1, like any other phone client. The service worker at /m/sw.js
caches the shell so the page opens without signal; its cache name is a hash of the assets, so a deploy
with changed files replaces the cache on the phones' next visit.
"""

import hashlib
from pathlib import Path

from flask import Blueprint, Flask, Response, render_template, url_for

STATIC_DIR = Path(__file__).resolve().parent / "static"
SHELL_PATH = "/m/"

# The page's own policy: scripts and styles only from this app. Photos are shown from blob: URLs: the bytes kept
# on the phone before upload, and served copies fetched with the bearer token (an <img src> cannot send it).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def static_files() -> list[str]:
    """Every asset of the client, relative to mobile/static/, in a stable order."""
    return sorted(path.relative_to(STATIC_DIR).as_posix() for path in STATIC_DIR.rglob("*") if path.is_file())


def assets_version() -> str:
    """A short hash of the names and contents of every asset: it changes whenever any file does."""
    digest = hashlib.sha256()
    for name in static_files():
        digest.update(name.encode() + b"\0" + (STATIC_DIR / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def create_blueprint() -> Blueprint:
    """Build the /m/ blueprint: the shell page, the service worker and the static assets."""
    blueprint = Blueprint("mobile", __name__, url_prefix="/m", static_folder="static",
                          static_url_path="/static", template_folder="templates")
    version = assets_version()

    @blueprint.get("/")
    def shell():
        return render_template("mobile/shell.html", version=version)

    @blueprint.get("/sw.js")
    def service_worker():
        assets = [url_for("mobile.static", filename=name) for name in static_files()]
        script = render_template("mobile/sw.js", version=version, shell_url=SHELL_PATH, assets=assets)
        return Response(script, mimetype="text/javascript", headers={
            # The browser must see a new worker as soon as one is deployed.
            "Cache-Control": "no-cache",
            "Service-Worker-Allowed": SHELL_PATH,
        })

    @blueprint.after_request
    def add_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-cache"
        return response

    return blueprint


def init_mobile(app: Flask) -> None:
    """Serve the phone client at /m/."""
    app.register_blueprint(create_blueprint())
