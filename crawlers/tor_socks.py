"""A Twisted client endpoint that connects through a tor SOCKS5 port, by name, with credentials.

The destination host is sent to tor as a name (SOCKS5 address type 3, "socks5h" semantics), so
no local DNS lookup ever happens for it. The username/password (RFC 1929) carry no secret: with
``IsolateSOCKSAuth`` (on by default on tor's SocksPort) they choose which circuits a stream may
share, which is how each profile gets circuits of its own. txtorcon's SOCKS client does not
support credentials yet, hence this small endpoint.
"""

from __future__ import annotations

from twisted.internet import defer, error
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from vigil.core.tor import socks


class TorSocksError(error.ConnectError):
    """tor could not open the stream (unreachable onion, circuit timeout, ...).

    A ConnectError, so Scrapy's retry middleware retries it like any failed connection.
    """

    def __init__(self, message: str, code: int | None = None):
        super().__init__(string=message)
        self.code = code


class _SocksHandshake(Protocol):
    """Speaks SOCKS5 to tor, then hands the connection to the wrapped protocol and relays to it."""

    def __init__(self, endpoint: Socks5ClientEndpoint, factory: Factory, ready: defer.Deferred):
        self._endpoint = endpoint
        self._factory = factory
        self._ready = ready
        self._buffer = b""
        self._state = "method"
        self._wrapped: Protocol | None = None

    def connectionMade(self) -> None:
        self.transport.write(socks.greeting(self._endpoint.username))

    def dataReceived(self, data: bytes) -> None:
        if self._wrapped is not None:
            self._wrapped.dataReceived(data)
            return
        self._buffer += data
        try:
            self._advance()
        except (TorSocksError, ValueError, socks.SocksError) as exc:
            self._fail(exc if isinstance(exc, TorSocksError) else TorSocksError(str(exc)))

    def _advance(self) -> None:
        ep = self._endpoint
        if self._state == "method" and len(self._buffer) >= 2:
            version, method = self._buffer[0], self._buffer[1]
            self._buffer = self._buffer[2:]
            if version != 5 or method == 0xFF:
                raise TorSocksError("the SOCKS server accepted none of our authentication methods")
            if method == 2:
                self.transport.write(socks.auth_request(ep.username or "", ep.password or ""))
                self._state = "auth"
            else:
                self._send_connect()
        if self._state == "auth" and len(self._buffer) >= 2:
            status = self._buffer[1]
            self._buffer = self._buffer[2:]
            if status != 0:
                raise TorSocksError("the SOCKS server refused the isolation username/password")
            self._send_connect()
        if self._state == "connect" and len(self._buffer) >= 5:
            if self._buffer[1] != 0:
                raise TorSocksError(str(socks.reply_error(self._buffer[1])), self._buffer[1])
            size = socks.reply_length(self._buffer)
            if len(self._buffer) >= size:
                rest, self._buffer = self._buffer[size:], b""
                self._established(rest)

    def _send_connect(self) -> None:
        self.transport.write(socks.connect_request(self._endpoint.host, self._endpoint.port))
        self._state = "connect"

    def _established(self, rest: bytes) -> None:
        self._state = "relaying"
        self._wrapped = self._factory.buildProtocol(self.transport.getPeer())
        if self._wrapped is None:
            self._fail(TorSocksError("the protocol factory refused the connection"))
            return
        ready, self._ready = self._ready, None
        if ready is None or ready.called:
            self.transport.abortConnection()
            return
        self._wrapped.makeConnection(self.transport)
        ready.callback(self._wrapped)
        if rest:
            self._wrapped.dataReceived(rest)

    def _fail(self, exc: Exception) -> None:
        ready, self._ready = self._ready, None
        self.transport.abortConnection()
        if ready is not None and not ready.called:
            ready.errback(Failure(exc))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._wrapped is not None:
            self._wrapped.connectionLost(reason)
        elif self._ready is not None and not self._ready.called:
            ready, self._ready = self._ready, None
            ready.errback(Failure(TorSocksError(f"SOCKS connection closed during handshake: {reason.value}")))


class _HandshakeFactory(Factory):
    noisy = False

    def __init__(self, endpoint: Socks5ClientEndpoint, factory: Factory, ready: defer.Deferred):
        self._args = (endpoint, factory, ready)

    def buildProtocol(self, addr):
        return _SocksHandshake(*self._args)


@implementer(IStreamClientEndpoint)
class Socks5ClientEndpoint:
    """Connect to ``host:port`` through the SOCKS5 server at ``socks_host:socks_port``."""

    def __init__(
        self,
        reactor,
        socks_host: str,
        socks_port: int,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30,
    ):
        self._reactor = reactor
        self._proxy = TCP4ClientEndpoint(reactor, socks_host, socks_port, timeout=timeout)
        self.host = host.decode("ascii") if isinstance(host, bytes) else host
        self.port = port
        self.username = username
        self.password = password if password is not None else ("-" if username is not None else None)

    def connect(self, protocolFactory: Factory) -> defer.Deferred:
        handshake: list[Protocol] = []
        connecting: list[defer.Deferred] = []

        def cancel(_: defer.Deferred) -> None:
            if handshake and handshake[0].transport is not None:
                handshake[0].transport.abortConnection()
            elif connecting:
                connecting[0].cancel()

        ready: defer.Deferred = defer.Deferred(cancel)
        connecting.append(self._proxy.connect(_HandshakeFactory(self, protocolFactory, ready)))

        def connected(proto: Protocol) -> None:
            handshake.append(proto)

        def failed(reason: Failure) -> None:
            if not ready.called:
                ready.errback(reason)

        connecting[0].addCallbacks(connected, failed)
        return ready
