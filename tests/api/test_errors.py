"""The API's error shape for unexpected failures: 500 rolls back, logs the trace, shows none."""

import logging

from sqlalchemy import func, select

from extensions import csrf, db
from models import Station


def _add_failing_route(app):
    @app.post("/api/v1/_test/explode")
    def explode():
        db.session.add(Station(code="half-written", name="不应保存"))
        db.session.flush()
        raise RuntimeError("secret internal detail")

    csrf.exempt(explode)  # like the API blueprint's own views
    return explode


def test_an_unexpected_error_is_a_json_500_without_the_trace(app, caplog):
    _add_failing_route(app)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.post("/api/v1/_test/explode")
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"]["code"] == "internal_error"
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert "secret internal detail" in caplog.text  # the trace goes to the log
    assert db.session.scalar(select(func.count()).select_from(Station).where(Station.code == "half-written")) == 0


def test_every_4xx_under_api_has_the_error_shape(client):
    responses = {
        404: client.get("/api/v1/no/such/route"),
        405: client.delete("/api/v1/me"),
        401: client.get("/api/v1/visits"),
        400: client.post("/api/v1/auth/login", data="{broken", content_type="application/json"),
    }
    for status, response in responses.items():
        assert response.status_code == status
        assert response.is_json
        assert {"code", "message"} <= set(response.get_json()["error"])


def test_pages_outside_the_api_keep_html_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response.is_json
