"""What every fixture site shares: served on loopback by LocalHTTPServer, started and stopped
explicitly or as a context manager. A site gives its request handler class and a name."""

from __future__ import annotations

from typing import Self

from vigil.app.local_http import LocalHTTPServer


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
