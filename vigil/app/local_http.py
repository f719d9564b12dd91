"""A small HTTP server on a loopback port, served from a daemon thread.

The demo board, its webhook receiver and the test suite's fixture board all need one; Nagle's
algorithm is off so that a crawler's many small requests are not delayed by it.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        super().server_bind()
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class LocalHTTPServer:
    """``start()`` binds (raising OSError when the port is taken) and serves; ``stop()`` closes."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0,
                 name: str = "local-http"):
        self.handler, self.host, self.requested_port, self.name = handler, host, port, name
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else self.requested_port

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> LocalHTTPServer:
        self._server = _Server((self.host, self.requested_port), self.handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
