"""Real server processes for tests, on free loopback ports: one way to start, wait for and stop them.

Every test server (gunicorn serving the app for the browser, schemathesis and hostile-input tests, the two app
servers sharing a database, moto's S3 stand-in) goes through `server_process`, so a server that dies at start,
never answers or ignores SIGTERM fails the same way everywhere: with the tail of its log.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
LOG_TAIL_CHARACTERS = 3000


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class RunningServer:
    """A server started by `server_process`: where it listens and where its output goes."""

    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def log_tail(self) -> str:
        """The end of the server's output, for a failure message."""
        return self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARACTERS:] if self.log_path.exists() else ""


@contextmanager
def server_process(command: Sequence[str], log_path: Path, *, env: Mapping[str, str] | None = None,
                   ready_path: str | None = "/healthz", start_seconds: float = 60,
                   stop_seconds: float = 20) -> Iterator[RunningServer]:
    """Run `command` as a server on a free loopback port until the block ends; yield it once it answers.

    `{port}` in the command's arguments or the environment's values becomes the port. `{fd}` becomes the file
    descriptor of a socket already listening on it (gunicorn's `--bind fd://{fd}`): the server takes over the
    socket, so no other process can take the port in between. Ready means `ready_path` answers 200 over HTTP, or,
    with `ready_path=None`, that the port accepts connections (only for a server that binds `{port}` itself: a
    handed-over socket accepts connections before the server runs). The output goes to `log_path` (appended); its tail
    is in the error when the server exits early or never answers. At the end the server gets SIGTERM, then SIGKILL
    after `stop_seconds`, and is waited for.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, 0))
    port = listener.getsockname()[1]
    hands_over_socket = any("{fd}" in part for part in [*command, *(env or {}).values()])
    if hands_over_socket:
        listener.listen(64)
    else:
        listener.close()  # the server binds the port itself

    def fill(text: str) -> str:
        # Only these two placeholders: other braces (a tile URL's {z}/{x}/{y}) pass through untouched.
        return text.replace("{port}", str(port)).replace("{fd}", str(listener.fileno()) if hands_over_socket else "")

    server = RunningServer(port, Path(log_path))
    server.log_path.parent.mkdir(parents=True, exist_ok=True)
    with server.log_path.open("ab") as log:
        process = subprocess.Popen(
            [fill(part) for part in command], cwd=REPO_ROOT,
            env={**os.environ, **{name: fill(value) for name, value in (env or {}).items()}},
            pass_fds=(listener.fileno(),) if hands_over_socket else (), stdout=log, stderr=subprocess.STDOUT,
        )
    listener.close()  # the server holds its own copy
    try:
        _wait_until_ready(server, process, ready_path, start_seconds)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=stop_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(server: RunningServer, process: subprocess.Popen, ready_path: str | None,
                      seconds: float) -> None:
    name = Path(process.args[0]).name if process.args[0] != sys.executable else " ".join(process.args[1:3])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} before answering:\n{server.log_tail()}")
        if _answers(server, ready_path):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer on port {server.port} within {seconds} s:\n{server.log_tail()}")


def _answers(server: RunningServer, ready_path: str | None) -> bool:
    try:
        if ready_path is None:
            with socket.create_connection((LOOPBACK, server.port), timeout=1):
                return True
        with urllib.request.urlopen(server.base_url + ready_path, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def gunicorn_command(*options: str, bind: str = "fd://{fd}") -> list[str]:
    """gunicorn serving wsgi:app from this checkout, on the socket `server_process` hands over."""
    return [sys.executable, "-m", "gunicorn", "--bind", bind, "--timeout", "60", *options, "wsgi:app"]


@contextmanager
def gunicorn_server(settings: dict[str, str], log_path: Path) -> Iterator[int]:
    """Run `gunicorn -c gunicorn.conf.py wsgi:app` with settings as environment (one worker); yield its port.

    The deployment's own configuration file decides everything but the bind address and the worker count.
    """
    env = {"GUNICORN_BIND": "fd://{fd}", "WEB_CONCURRENCY": "1", **settings}
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    with server_process(command, log_path, env=env) as server:
        yield server.port


def request(port: int, method: str, path: str, body: bytes | dict | None = None, headers: dict | None = None,
            timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request to 127.0.0.1:port; a dict body is sent as JSON. Returns (status, headers, body)."""
    headers = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {name.lower(): value for name, value in response.getheaders()}, response.read()
    finally:
        connection.close()
