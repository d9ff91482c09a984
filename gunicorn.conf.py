"""gunicorn settings for Zoufang: `gunicorn -c gunicorn.conf.py wsgi:app` (what `make run` and deploy/ use).

Phones upload photos of up to 20 MB over weak networks, and WeChat's wx.uploadFile gives up after 60 s.
Threaded workers (gthread) keep one slow upload from holding a whole worker process, and every request
body must arrive within BODY_DEADLINE_SECONDS, so slow or stalled senders free their thread in bounded
time. In production nginx buffers request bodies first (deploy/nginx), so workers only see whole requests.

Every value can be set from the environment; see the README's "deploying for a city".
"""

import contextlib
import logging
import multiprocessing
import os
import socket
import threading
import time
from itertools import count


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
worker_class = "gthread"
# Photo decoding is CPU-bound (one core per process under the GIL); the rest waits on the database, the
# store and the network, which threads overlap.
workers = _env_int("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1)
threads = _env_int("GUNICORN_THREADS", 8)
# A worker whose main loop is silent this long is killed and replaced. Above WeChat's 60 s upload limit,
# so a legitimate upload in progress never triggers it.
timeout = _env_int("GUNICORN_TIMEOUT", 75)
# On restart or deploy, requests in flight (an upload may take the full 60 s) get this long to finish.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 65)
# Behind nginx, which keeps upstream connections alive; short enough not to pin idle sockets.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (Pillow's and the allocator's memory), at staggered moments.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# X-Forwarded-Proto and friends are believed only from these proxies (comma-separated addresses).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The app writes one JSON line per request itself; gunicorn's own access log would only repeat it.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# No control socket: it would live at one path per user, shared by every instance on the machine.
control_socket_disable = True
# Workers' heartbeat files in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

BODY_DEADLINE_SECONDS = float(os.environ.get("BODY_DEADLINE_SECONDS", 60))


class BodyDeadlines:
    """Cuts the request body of any client that has not sent it within the deadline.

    A socket read timeout would not do: a client sending 1 byte a second never lets one read time out.
    One watchdog thread per worker shuts the read side of late sockets instead; the app then sees the
    body end early, answers 400, and the thread is free again.
    """

    def __init__(self, seconds: float, poll_seconds: float = 0.5):
        self.seconds = seconds
        self.poll_seconds = poll_seconds
        self._watched: dict[int, tuple[float, socket.socket]] = {}
        self._lock = threading.Lock()
        self._tokens = count()
        self._log = logging.getLogger("gunicorn.error")
        threading.Thread(target=self._watch_forever, name="body-deadlines", daemon=True).start()

    def wrap(self, app):
        """The WSGI app with a deadline on every request that carries a body."""

        def guarded(environ, start_response):
            client_socket = environ.get("gunicorn.socket")
            has_body = environ.get("CONTENT_LENGTH", "0") not in ("", "0") or \
                "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
            if client_socket is None or not has_body:
                return app(environ, start_response)
            token = next(self._tokens)
            with self._lock:
                self._watched[token] = (time.monotonic() + self.seconds, client_socket)
            try:
                # Flask reads the whole body before the view returns: the deadline covers the upload.
                return app(environ, start_response)
            finally:
                with self._lock:
                    self._watched.pop(token, None)

        return guarded

    def _watch_forever(self) -> None:
        while True:
            time.sleep(self.poll_seconds)
            now = time.monotonic()
            with self._lock:
                late = [token for token, (deadline, _) in self._watched.items() if deadline <= now]
                sockets = [self._watched.pop(token)[1] for token in late]
            for client_socket in sockets:
                self._log.warning("request body not received within %.0f s: reading stopped", self.seconds)
                with contextlib.suppress(OSError):  # the client is already gone
                    client_socket.shutdown(socket.SHUT_RD)


def post_worker_init(worker) -> None:
    """Put the body deadline around the app in each worker (the app is loaded just before this hook)."""
    worker.wsgi = BodyDeadlines(BODY_DEADLINE_SECONDS).wrap(worker.wsgi)
