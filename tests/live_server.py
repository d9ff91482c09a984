"""The real app under gunicorn on a free loopback port, for tests that need a real server (schemathesis, sockets)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from config import encode_key
from tests.conftest import TEST_ID_NUMBER_KEY
from tests.servers import gunicorn_command, server_process


@contextmanager
def live_server(database_url: str, work_dir: Path, *, secret_key: str, env: dict | None = None,
                workers: int = 2, id_number_key: bytes | None = None) -> Iterator[str]:
    """Serve wsgi:app with gunicorn on 127.0.0.1 (a port the OS picks) against `database_url`; yield its base URL.

    Its output is in work_dir/gunicorn.log; the server is stopped (and waited for) when the block ends.
    """
    (work_dir / "instance").mkdir(parents=True, exist_ok=True)
    server_env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret_key,
        "ID_NUMBER_KEY": encode_key(id_number_key or TEST_ID_NUMBER_KEY),
        "UPLOAD_DIR": str(work_dir / "uploads"),
        "INSTANCE_DIR": str(work_dir / "instance"),
        # Never leave the loopback: WeChat calls go to a port where nothing listens.
        "WECHAT_API_BASE": "http://127.0.0.1:9",
        **(env or {}),
    }
    command = gunicorn_command("--workers", str(workers))
    with server_process(command, work_dir / "gunicorn.log", env=server_env, stop_seconds=30) as server:
        yield server.base_url
