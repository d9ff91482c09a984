"""Security headers on every answer, and admin pages that run under CSP script-src 'self' (no inline script)."""

import re
from pathlib import Path

import pytest

from tests.admin.test_access import _admin_urls
from tests.factories import (
    auth_headers,
    make_admin,
    make_beneficiary,
    make_service_point,
    make_station,
    make_visit,
    make_worker,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "admin" / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_no_template_has_inline_script_or_handlers():
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 10
    for template in templates:
        text = template.read_text()
        assert not INLINE_SCRIPT.search(text), f"inline <script> in {template}"
        assert not INLINE_HANDLER.search(text), f"on*= handler in {template}"
        assert not JAVASCRIPT_URL.search(text), f"javascript: URL in {template}"


@pytest.fixture
def populated(app):
    station = make_station()
    make_service_point(station)
    worker = make_worker(station)
    person = make_beneficiary(station)
    visit = make_visit(worker, person)
    return {"visit": visit, "photo": visit.photos[0]}


def test_every_admin_page_renders_under_the_csp(app, client, login_as, populated):
    admin = make_admin()
    login_as(admin)
    urls = [url for method, url in _admin_urls(app) if method == "GET" and "/ajax/" not in url
            and "/export/" not in url]
    urls = [url.replace("/visit/1", f"/visit/{populated['visit'].id}")
               .replace("/photo/1/", f"/photo/{populated['photo'].id}/") for url in urls]
    for view in ("users", "beneficiaries", "stations", "service_points", "regions", "audit_log", "schedules"):
        urls += [f"/admin/{view}/details/?id=1", f"/admin/{view}/edit/?id=1"]
    urls += ["/admin/beneficiaries/reveal/?id=1", "/admin/users/password/?id=1", "/admin/login"]
    rendered = 0
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, url
        assert csp_directives(response)["script-src"] == "script-src 'self'", url
        assert csp_directives(response)["frame-ancestors"] == "frame-ancestors 'none'"
        if response.mimetype == "text/html" and response.status_code == 200:
            rendered += 1
            html = response.get_data(as_text=True)
            assert not INLINE_SCRIPT.search(html), f"inline <script> on {url}"
            assert not INLINE_HANDLER.search(html), f"on*= handler on {url}: {INLINE_HANDLER.search(html)}"
    assert rendered > 20


def test_list_actions_work_without_inline_handlers(client, login_as):
    login_as(make_admin())
    html = client.get("/admin/users/").get_data(as_text=True)
    assert 'data-model-action="deactivate"' in html
    assert "zoufang/csp_handlers.js" in html and "admin/js/actions.js" in html
    assert client.get("/admin/review/static/zoufang/csp_handlers.js").status_code == 200


def test_headers_on_admin_pages(client, login_as):
    login_as(make_admin())
    response = client.get("/admin/beneficiaries/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers
    static = client.get("/admin/review/static/zoufang/csp_handlers.js")
    assert static.headers.get("Cache-Control") != "no-store"
    assert static.headers["X-Content-Type-Options"] == "nosniff"


def test_headers_on_api_answers(client):
    worker = make_worker()
    make_beneficiary(worker.station)
    for url in ("/api/v1/beneficiaries", "/api/v1/visits", "/api/v1/me"):
        response = client.get(url, headers=auth_headers(worker))
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store", url
        assert response.headers["X-Frame-Options"] == "DENY"
        assert csp_directives(response)["frame-ancestors"] == "frame-ancestors 'none'"
    error = client.get("/api/v1/visits")
    assert error.status_code == 401 and error.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_when_cookies_are_secure(app, client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    from factory import create_app

    secure = create_app({**app.config, "SESSION_COOKIE_SECURE": True})
    response = secure.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
