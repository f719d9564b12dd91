"""What every fixture site shares: served on loopback by LocalHTTPServer, started and stopped
explicitly or as a context manager. A site gives its request handler class and a name."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any, Self

from vigil.app.local_http import LocalHTTPServer


class FixtureHandler(BaseHTTPRequestHandler):
    """A fixture site's request handler: quiet, with one way to send a whole response (a client
    that hung up before reading it is not the test's failure)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class ServedSite:
    name = "fixture"
    host: str
    port: int
    _http: LocalHTTPServer | None

    def handler(self) -> type:
        raise NotImplementedError

    def start(self) -> Self:
        self._http = LocalHTTPServer(self.handler(), self.host, self.port, name=self.name).start()
        self.port = self._http.port
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
