"""gunicorn.conf.py under slow clients: bodies trickling in at 1 byte/s neither block /healthz nor a thread for long."""

import socket
import threading
import time

import pytest

from tests.servers import gunicorn_server, request

SLOW_BODY_LENGTH = 1000


@pytest.fixture
def server_settings(database_url, tmp_path) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "UPLOAD_DIR": str(tmp_path / "uploads"),
            "INSTANCE_DIR": str(tmp_path / "instance"), "SECRET_KEY": "slow-client-test"}


class SlowClient(threading.Thread):
    """Sends a login request whose body arrives at 1 byte a second, for at most `seconds`."""

    def __init__(self, port: int, seconds: float):
        super().__init__(daemon=True)
        self.port, self.seconds = port, seconds
        self.answer = b""
        self.answered_after: float | None = None

    def run(self):
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=self.seconds + 5) as connection:
            connection.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               b"Content-Type: application/json\r\n"
                               b"Content-Length: %d\r\n\r\n" % SLOW_BODY_LENGTH)
            connection.settimeout(1)
            while time.monotonic() - started < self.seconds:
                try:
                    connection.sendall(b" ")
                    self.answer += connection.recv(4096)
                except TimeoutError:
                    continue  # nothing to read yet: keep trickling
                except OSError:
                    break
                if self.answer:
                    self.answered_after = time.monotonic() - started
                    break


def healthz_within(port: int, seconds: float) -> float:
    """Time /healthz took to answer 200; fails past `seconds`."""
    started = time.monotonic()
    status, _, _ = request(port, "GET", "/healthz", timeout=seconds)
    assert status == 200
    return time.monotonic() - started


def test_four_bodies_at_one_byte_a_second_do_not_stop_healthz(server_settings, tmp_path):
    with gunicorn_server(server_settings, tmp_path / "gunicorn.log") as port:
        slow = [SlowClient(port, seconds=8) for _ in range(6)]
        for client in slow:
            client.start()
        time.sleep(1.5)  # every slow client is now inside the app, reading its body
        timings = [healthz_within(port, seconds=3) for _ in range(4)]
        assert all(client.is_alive() for client in slow), "the slow clients were still sending"
        for client in slow:
            client.join(timeout=15)
    assert max(timings) < 3


def test_a_body_not_sent_within_the_deadline_is_cut_and_its_thread_freed(server_settings, tmp_path):
    """More slow clients than threads: each is cut at the deadline, so /healthz answers in bounded time."""
    settings = {**server_settings, "BODY_DEADLINE_SECONDS": "2", "GUNICORN_THREADS": "2"}
    with gunicorn_server(settings, tmp_path / "gunicorn.log") as port:
        slow = [SlowClient(port, seconds=30) for _ in range(4)]
        for client in slow:
            client.start()
        time.sleep(0.5)
        waited = healthz_within(port, seconds=15)
        for client in slow:
            client.join(timeout=35)
    assert waited < 15
    for client in slow:
        assert client.answer.startswith(b"HTTP/1.1 400"), client.answer[:200]
        assert client.answered_after < 12
