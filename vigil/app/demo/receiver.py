"""A tiny webhook on 127.0.0.1 that receives the alerts Apprise posts to ``json://`` URLs.

It stands in for the analysts' chat or ticketing endpoint, so the demo can show the message a
subscriber really gets.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from vigil.app.local_http import LocalHTTPServer


@dataclass(frozen=True)
class Delivery:
    at: float
    title: str
    body: str


class WebhookReceiver:
    """``with WebhookReceiver() as hook: hook.apprise_url``; ``hook.deliveries`` fills as posts arrive."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.port = port
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._http: LocalHTTPServer | None = None

    @property
    def apprise_url(self) -> str:
        return f"json://{self.host}:{self.port}/alerts"

    def received(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    def _add(self, payload: dict[str, Any]) -> None:
        with self._lock:
            self.deliveries.append(
                Delivery(time.time(), str(payload.get("title", "")), str(payload.get("message", "")))
            )

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(raw or b"{}")
                except ValueError:
                    payload = {"title": "(unreadable)", "message": raw.decode("utf-8", "replace")}
                receiver._add(payload if isinstance(payload, dict) else {"message": str(payload)})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._http = LocalHTTPServer(Handler, self.host, self.port, name="demo-webhook").start()
        self.port = self._http.port
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
