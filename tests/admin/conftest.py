"""Admin test helpers: log in through the real form, CSRF token included."""

import re

import pytest

from tests.factories import PASSWORD

CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = CSRF_FIELD.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1) or match.group(2)


@pytest.fixture
def login_as(client):
    """Log the test client in to the admin site as a user: login_as(user)."""

    def login(user, password: str = PASSWORD):
        page = client.get("/admin/login")
        token = csrf_token_from(page.get_data(as_text=True))
        return client.post("/admin/login", data={"username": user.username, "password": password,
                                                 "csrf_token": token})

    return login


@pytest.fixture
def csrf_from(client):
    """The CSRF token of the session, read from a page: csrf_from(url)."""

    def read(url: str = "/admin/login") -> str:
        return csrf_token_from(client.get(url).get_data(as_text=True))

    return read


def redirects_to_login(response) -> bool:
    """Whether a response sends the browser to the admin login page."""
    return response.status_code == 302 and "/admin/login" in response.headers["Location"]
