"""The real app under gunicorn on a free loopback port, for tests that need a real server (schemathesis, sockets)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from config import encode_key
from tests.conftest import TEST_ID_NUMBER_KEY

PROJECT_ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")


@contextmanager
def live_server(database_url: str, work_dir: Path, *, secret_key: str, env: dict | None = None,
                workers: int = 2, id_number_key: bytes | None = None) -> Iterator[str]:
    """Serve wsgi:app with gunicorn on 127.0.0.1 (a port the OS picks) against `database_url`; yield its base URL.

    The listening socket is bound here and handed to gunicorn by file descriptor, so no other process can
    take the port in between. The server is stopped (and waited for) when the block ends.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    (work_dir / "instance").mkdir(parents=True, exist_ok=True)
    server_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret_key,
        "ID_NUMBER_KEY": encode_key(id_number_key or TEST_ID_NUMBER_KEY),
        "UPLOAD_DIR": str(work_dir / "uploads"),
        "INSTANCE_DIR": str(work_dir / "instance"),
        # Never leave the loopback: WeChat calls go to a port where nothing listens.
        "WECHAT_API_BASE": "http://127.0.0.1:9",
        **(env or {}),
    }
    log = (work_dir / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [str(GUNICORN), "--bind", f"fd://{listener.fileno()}", "--workers", str(workers), "--timeout", "60",
         "--chdir", str(PROJECT_ROOT), "wsgi:app"],
        pass_fds=[listener.fileno()], env=server_env, stdout=log, stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(base_url, process, work_dir / "gunicorn.log")
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        listener.close()
        log.close()


def _wait_until_ready(base_url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{log_path.read_text()[-3000:]}")
