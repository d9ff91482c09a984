"""The /m/ shell, its service worker and its assets, over HTTP (no browser needed)."""

import re
from html.parser import HTMLParser

import mobile

BUDGET_BYTES = 150 * 1024
EXTERNAL_URL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)


class _ScriptsAndHandlers(HTMLParser):
    """Collects what a `script-src 'self'` policy would block: inline scripts, event-handler and style attributes."""

    def __init__(self):
        super().__init__()
        self.scripts: list[dict] = []
        self.inline_code: list[str] = []
        self.blocked_attributes: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.blocked_attributes += [name for name in attributes if name.startswith("on") or name == "style"]
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_code.append(data)


def _code_assets() -> list[str]:
    return [name for name in mobile.static_files() if name.endswith((".js", ".css"))]


def test_shell_is_served_without_login_and_without_inline_script(client):
    response = client.get("/m/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-cache"
    page = _ScriptsAndHandlers()
    page.feed(response.get_data(as_text=True))
    assert page.scripts == [{"type": "module", "src": "/m/static/js/main.js"}]
    assert page.inline_code == [] and page.blocked_attributes == []


def test_service_worker_is_served_for_the_m_scope_and_lists_every_asset(client):
    response = client.get("/m/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/m/"
    script = response.get_data(as_text=True)
    assert f'"zoufang-m-{mobile.assets_version()}"' in script
    for name in mobile.static_files():
        assert f'"/m/static/{name}"' in script
        asset = client.get(f"/m/static/{name}")
        assert asset.status_code == 200, name
        asset.close()


def test_assets_version_changes_with_any_file(tmp_path, monkeypatch):
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "main.js").write_text("export const a = 1;\n")
    monkeypatch.setattr(mobile, "STATIC_DIR", tmp_path)
    before = mobile.assets_version()
    (tmp_path / "js" / "main.js").write_text("export const a = 2;\n")
    assert mobile.assets_version() != before


def test_javascript_and_css_stay_under_the_budget():
    sizes = {name: (mobile.STATIC_DIR / name).stat().st_size for name in _code_assets()}
    assert any(name.endswith(".js") for name in sizes) and any(name.endswith(".css") for name in sizes)
    assert sum(sizes.values()) < BUDGET_BYTES, sorted(sizes.items(), key=lambda item: -item[1])


def test_every_asset_comes_from_the_app():
    for name in _code_assets():
        text = (mobile.STATIC_DIR / name).read_text(encoding="utf-8")
        assert not EXTERNAL_URL.search(text), f"{name} refers to another host"
        assert "@import" not in text and "importScripts" not in text, name
