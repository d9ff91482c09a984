"""create_app(): repeatable, and its health check tells whether the database answers."""

from factory import create_app


def test_create_app_can_run_many_times(database_url, tmp_path):
    apps = [create_app({"SQLALCHEMY_DATABASE_URI": database_url, "UPLOAD_DIR": str(tmp_path), "TESTING": True})
            for _ in range(3)]
    for app in apps:
        assert "admin" in app.blueprints and "api_v1" in app.blueprints
        # The module-level API blueprint serves every app, not only the first one that registered it.
        assert app.test_client().get("/api/v1/meta").status_code == 200
        assert app.test_client().get("/api/v1/photos/1/thumb").status_code == 401


def test_healthz_is_200_with_the_database_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    # Port 1 on loopback refuses at once: a database that is down, without touching the network.
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "UPLOAD_DIR": str(tmp_path), "TESTING": True, "SECRET_KEY": "x"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
