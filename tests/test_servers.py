"""tests/servers.py's server_process: a server that dies or never answers fails with its log; one ignoring SIGTERM
is killed."""

import socket
import sys
import time

import pytest

from tests.servers import server_process

# Answers /healthz on the socket handed over as argv[1], and ignores SIGTERM (installed before it answers).
STUBBORN_SERVER = """
import http.server, signal, socket, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
server = http.server.HTTPServer(("127.0.0.1", 0), Health, bind_and_activate=False)
server.socket = socket.socket(fileno=int(sys.argv[1]))
server.serve_forever()
"""


def test_a_server_that_exits_at_start_fails_with_its_log(tmp_path):
    command = [sys.executable, "-c", "import sys; print('cannot open the database', flush=True); sys.exit(3)"]
    with pytest.raises(RuntimeError, match=r"(?s)exited with 3.*cannot open the database"), \
            server_process(command, tmp_path / "server.log"):
        pytest.fail("the block must not run")


def test_a_server_that_never_answers_fails_after_the_start_timeout(tmp_path):
    command = [sys.executable, "-c", "import time; print('warming up', flush=True); time.sleep(600)"]
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"(?s)did not answer on port \d+ within 1 s.*warming up"), \
            server_process(command, tmp_path / "server.log", start_seconds=1, stop_seconds=1):
        pytest.fail("the block must not run")
    assert time.monotonic() - started < 10


def test_a_server_ignoring_sigterm_is_killed_and_its_port_freed(tmp_path):
    command = [sys.executable, "-c", STUBBORN_SERVER, "{fd}"]
    started = time.monotonic()
    with server_process(command, tmp_path / "server.log", stop_seconds=1) as server:
        pass
    assert 1 <= time.monotonic() - started < 10  # SIGTERM ignored for a second, then killed
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    assert "GET /healthz" in server.log_tail()
