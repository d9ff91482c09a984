"""/readyz: 200 when the database and the photo store answer, 503 naming the one that does not."""

from factory import create_app


def test_readyz_is_200_with_database_and_folder_store(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "storage": "ok"}


def test_readyz_is_200_with_the_bucket_reachable(s3_app, client):
    assert client.get("/readyz").get_json() == {"status": "ok", "database": "ok", "storage": "ok"}


def test_readyz_is_503_when_the_bucket_is_missing(s3_app, client):
    s3_app.config["S3_BUCKET"] = "no-such-bucket-anywhere"
    s3_app.extensions.pop("zoufang_storage", None)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "ok", "storage": "unreachable"}


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "UPLOAD_DIR": str(tmp_path), "TESTING": True, "SECRET_KEY": "x"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable", "storage": "ok"}
