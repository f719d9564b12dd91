"""The browser's only way out: a loopback HTTP forward proxy that applies the crawl's SSRF guard.

Chromium is launched with this proxy as ``--proxy-server`` (loopback included, ``<-loopback>``)
and with local name resolution mapped to nothing, so every request a rendered page makes --
navigations, redirects, sub-resources, XHR/fetch, websockets, iframes, workers, meta refreshes --
arrives here, either as an absolute-form request (``http://``) or as a CONNECT (``https://``,
``ws://``, ``wss://``). The proxy asks the crawl's ``AddressGuard`` (the same object the HTTP path
uses) about the host and connects to the address it pinned, never resolving again: a DNS answer
that changes after the check (rebinding) is never seen. On a Tor crawl the upstream is instead a
SOCKS5 stream by name with the profile's isolation credentials, after the Tor policy's checks.

Plain-HTTP connections carry one request each (the browser is told ``Connection: close``), so a
kept-alive connection cannot carry a second request to a host that was not checked.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawlers.ssrf import AddressGuard
from vigil.core.tor import socks

logger = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
MAX_REQUEST_BODY = 8 * 1024 * 1024
CHUNK = 64 * 1024
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer"}
)


class Refused(Exception):
    """The guard or the policy refuses this request; the message says why."""


class BadRequest(Exception):
    """Not a request this proxy forwards (malformed, unsupported scheme, chunked upload...)."""


@dataclass
class Head:
    start: str
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), "")


def parse_head(data: bytes) -> Head:
    lines = data.decode("latin-1").split("\r\n")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip()))
    return Head(lines[0], headers)


def split_authority(target: str) -> tuple[str, int]:
    """``host:port`` / ``[v6]:port`` of a CONNECT -> (host, port)."""
    parts = urlsplit(f"//{target}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise BadRequest(f"CONNECT needs host:port, got {target[:200]!r}")
    return parts.hostname, port


def render_head(start: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [start, *(f"{k}: {v}" for k, v in headers if k.lower() not in HOP_BY_HOP), "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class DirectUpstream:
    """Clear net: the guard's verdict, then TCP to the pinned address."""

    def __init__(self, guard: AddressGuard, timeout: float):
        self.guard = guard
        self.timeout = timeout

    def check_url(self, url: str) -> None:
        """Nothing beyond the host check on the clear net."""

    def check_response(self, url: str, status: int, content_type: str) -> None:
        """Nothing beyond the host check on the clear net."""

    async def open(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        decision = self.guard.known(host)
        if decision is None:
            loop = asyncio.get_running_loop()
            decision = await loop.run_in_executor(None, self.guard.decide, host, port)
        if decision.reason:
            raise Refused(decision.reason)
        if decision.address is None:
            raise Refused(f"{host} has no pinned address")
        return await asyncio.wait_for(asyncio.open_connection(str(decision.address), port), self.timeout)


class TorUpstream:
    """Tor: the Tor policy's checks, then a SOCKS5 stream by name with the profile's credentials.

    ``credentials`` is called per connection, so a rotation (new isolation generation) moves the
    browser's next connections to fresh circuits too. Names are never resolved locally.
    """

    def __init__(
        self,
        guard: AddressGuard,
        socks_host: str,
        socks_port: int,
        credentials: Callable[[], tuple[str, str]],
        timeout: float,
    ):
        self.guard = guard
        self.socks_host, self.socks_port = socks_host, socks_port
        self.credentials = credentials
        self.timeout = timeout

    def check_url(self, url: str) -> None:
        from crawlers.tor import TorPolicyError, check_browser_url

        try:
            check_browser_url(url)
        except TorPolicyError as exc:
            raise Refused(str(exc)) from None

    def check_response(self, url: str, status: int, content_type: str) -> None:
        from crawlers.tor import browser_type_allowed

        if 200 <= status < 300 and status != 204 and not browser_type_allowed(content_type):
            raise Refused(f"refused over Tor: Content-Type {content_type or '(none)'!r} ({url})")

    async def open(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        from crawlers.tor import TorPolicyError, check_host

        try:
            check_host(host)
        except TorPolicyError as exc:
            raise Refused(str(exc)) from None
        decision = self.guard.decide(host, port)  # no DNS on a Tor crawl: literals are checked, names pass
        if decision.reason:
            raise Refused(decision.reason)
        username, password = self.credentials()
        loop = asyncio.get_running_loop()
        sock = await loop.run_in_executor(
            None,
            lambda: socks.open_connection(
                self.socks_host, self.socks_port, host, port, username=username, password=password, timeout=self.timeout
            ),
        )
        sock.settimeout(None)
        return await asyncio.open_connection(sock=sock)


class BrowserProxy:
    """Listens on 127.0.0.1 (a port bound at construction) and forwards through ``upstream``."""

    def __init__(
        self,
        upstream: DirectUpstream | TorUpstream,
        *,
        idle_timeout: float,
        max_response: int,
        on_refused: Callable[[str], None] | None = None,
    ):
        self.upstream = upstream
        self.on_refused = on_refused
        self.idle_timeout = idle_timeout
        self.max_response = max_response
        self.refused: Counter[str] = Counter()
        self.forwarded = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.port: int = self._sock.getsockname()[1]
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def server(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, sock=self._sock, limit=MAX_HEAD)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._sock.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        target = ""
        answered = False
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            try:
                head = parse_head(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_timeout))
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
                return
            method, target, _version = (head.start.split(" ") + ["", ""])[:3]
            if method == "CONNECT":
                host, port = split_authority(target)
                up_reader, upstream_writer = await self.upstream.open(host, port)
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                answered = True
                self.forwarded += 1
                await self._tunnel(reader, writer, up_reader, upstream_writer)
                return
            parts = urlsplit(target)
            if parts.scheme != "http" or not parts.hostname:
                raise BadRequest(f"only absolute http:// URLs and CONNECT are proxied, got {target[:200]!r}")
            self.upstream.check_url(target)
            body = await self._request_body(reader, head)
            up_reader, upstream_writer = await self.upstream.open(parts.hostname, parts.port or 80)
            path = parts.path or "/"
            if parts.query:
                path += f"?{parts.query}"
            upstream_writer.write(render_head(f"{method} {path} HTTP/1.1", head.headers) + body)
            response = parse_head(await asyncio.wait_for(up_reader.readuntil(b"\r\n\r\n"), self.idle_timeout))
            status = response.start.split(" ")
            code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
            self.upstream.check_response(target, code, response.get("content-type"))
            writer.write(render_head(response.start, response.headers))
            answered = True
            self.forwarded += 1
            await self._pipe(up_reader, writer, self.max_response)
        except Refused as exc:
            self.refused[str(exc)] += 1
            if self.on_refused is not None:
                self.on_refused(str(exc))
            logger.warning("browser request refused: %s: %s", target[:300], exc)
            if not answered:
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except BadRequest as exc:
            logger.info("browser proxy: %s", exc)
            if not answered:
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            logger.debug("browser proxy: %s: %s", target[:300], exc)
            if not answered:
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        finally:
            if upstream_writer is not None:
                upstream_writer.close()
            try:
                await asyncio.wait_for(writer.drain(), 5)
            except (OSError, TimeoutError):
                pass

    async def _request_body(self, reader: asyncio.StreamReader, head: Head) -> bytes:
        if head.get("transfer-encoding"):
            raise BadRequest("chunked request bodies are not proxied")
        length = head.get("content-length") or "0"
        if not length.isdigit() or int(length) > MAX_REQUEST_BODY:
            raise BadRequest(f"request body length {length[:20]!r} refused")
        return await asyncio.wait_for(reader.readexactly(int(length)), self.idle_timeout) if int(length) else b""

    async def _tunnel(self, reader, writer, up_reader, up_writer) -> None:
        """Both directions until either side ends (websockets and TLS pass through untouched)."""
        tasks = [
            asyncio.ensure_future(self._pipe(reader, up_writer, None)),
            asyncio.ensure_future(self._pipe(up_reader, writer, self.max_response)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, limit: int | None) -> None:
        """Copy until EOF, an idle timeout, or ``limit`` bytes (the crawl's download_maxsize)."""
        copied = 0
        try:
            while True:
                chunk = await asyncio.wait_for(source.read(CHUNK), self.idle_timeout)
                if not chunk:
                    break
                copied += len(chunk)
                if limit is not None and copied > limit:
                    logger.warning("browser proxy: response over %d bytes cut", limit)
                    break
                sink.write(chunk)
                await sink.drain()
        except (OSError, TimeoutError):
            pass
        finally:
            if sink.can_write_eof():
                try:
                    sink.write_eof()
                except OSError:
                    pass
