"""The floor of check-in ingest: bare Flask + psycopg, one token lookup and one INSERT per request.

    FLOOR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/DB gunicorn -c gunicorn.conf.py bench.floor_app:app

What any check-in endpoint on this stack costs at the least: parse the JSON body, resolve the bearer token
to its active user (Zoufang's own api_tokens and users tables), store the body in one row of its own table
and answer 201 with the row's id. No validation, no ORM, no schema. bench.ingest creates the table and
runs the same load against this app and the real one, under the same gunicorn settings.
"""

from __future__ import annotations

import hashlib
import os
import threading

import psycopg
from flask import Flask, jsonify, request
from psycopg.types.json import Jsonb

FLOOR_TABLE_DDL = """
CREATE TABLE IF NOT EXISTS floor_checkins (
    id bigserial PRIMARY KEY,
    user_id integer NOT NULL,
    client_id text NOT NULL,
    body jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, client_id)
)
"""

_TOKEN_SQL = """
SELECT users.id FROM api_tokens JOIN users ON users.id = api_tokens.user_id
WHERE api_tokens.token_hash = %s AND api_tokens.revoked_at IS NULL AND api_tokens.expires_at > now()
  AND users.active
"""
_INSERT_SQL = "INSERT INTO floor_checkins (user_id, client_id, body) VALUES (%s, %s, %s) RETURNING id"

app = Flask(__name__)
# One connection per worker thread (gunicorn.conf.py runs threaded workers), opened on its first request.
_per_thread = threading.local()


def _database() -> psycopg.Connection:
    connection = getattr(_per_thread, "connection", None)
    if connection is None or connection.closed:
        # Autocommit: a health check leaves no transaction open; each check-in is one explicit transaction.
        connection = _per_thread.connection = psycopg.connect(os.environ["FLOOR_DATABASE_URL"], autocommit=True)
    return connection


@app.post("/api/v1/visits")
def create_checkin():
    """Store one check-in body for the token's user."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    body = request.get_json(silent=True)
    if scheme.lower() != "bearer" or not isinstance(body, dict) or "client_id" not in body:
        return jsonify({"error": "bad request"}), 400
    connection = _database()
    with connection.transaction():
        user = connection.execute(_TOKEN_SQL, (hashlib.sha256(token.encode()).hexdigest(),)).fetchone()
        if user is None:
            return jsonify({"error": "invalid token"}), 401
        checkin_id = connection.execute(_INSERT_SQL, (user[0], str(body["client_id"]), Jsonb(body))).fetchone()[0]
    return jsonify({"id": checkin_id, "client_id": body["client_id"]}), 201


@app.get("/healthz")
def healthz():
    """Ready once the database answers."""
    _database().execute("SELECT 1")
    return jsonify({"status": "ok"})
