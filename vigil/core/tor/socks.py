"""A minimal blocking SOCKS5 client (RFC 1928/1929) for health probes and testnet readiness.

Hostnames are always sent to tor as names (address type 3), never resolved locally. Crawls do
not use this module: they go through Scrapy's download handler (``crawlers.tor``).
"""

from __future__ import annotations

import socket
import struct

REPLIES = {
    0x01: "general SOCKS server failure",
    0x02: "connection not allowed by ruleset",
    0x03: "network unreachable",
    0x04: "host unreachable",
    0x05: "connection refused",
    0x06: "TTL expired (circuit or onion service timed out)",
    0x07: "command not supported",
    0x08: "address type not supported",
    0xF0: "onion service descriptor can not be found",
    0xF1: "onion service descriptor is invalid",
    0xF2: "onion service introduction failed",
    0xF3: "onion service rendezvous failed",
    0xF4: "onion service missing client authorization",
    0xF5: "onion service wrong client authorization",
    0xF6: "onion address is invalid",
    0xF7: "onion service introduction timed out",
}


class SocksError(OSError):
    """The SOCKS server refused or failed the request; ``code`` is the SOCKS5 reply code."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


def greeting(username: str | None) -> bytes:
    return b"\x05\x01\x02" if username is not None else b"\x05\x01\x00"


def auth_request(username: str, password: str) -> bytes:
    user, pw = username.encode(), password.encode()
    if not 0 < len(user) < 256 or not 0 < len(pw) < 256:
        raise ValueError("SOCKS username and password must each be 1-255 bytes")
    return bytes([1, len(user)]) + user + bytes([len(pw)]) + pw


def connect_request(host: str, port: int) -> bytes:
    """CONNECT by name (ATYP 3): tor resolves the name at the exit or looks up the onion service."""
    name = host.encode("idna")
    if len(name) > 255:
        raise ValueError("host name too long for SOCKS5")
    return b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", port)


def reply_length(head: bytes) -> int:
    """Total length of a CONNECT reply given at least its first 5 bytes."""
    atyp = head[3]
    if atyp == 1:
        return 4 + 4 + 2
    if atyp == 4:
        return 4 + 16 + 2
    if atyp == 3:
        return 4 + 1 + head[4] + 2
    raise SocksError(f"malformed SOCKS5 reply (address type {atyp})")


def reply_error(code: int) -> SocksError:
    return SocksError(f"SOCKS5 error 0x{code:02x}: {REPLIES.get(code, 'unknown error')}", code)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise SocksError("SOCKS server closed the connection")
        data += chunk
    return data


def probe(host: str, port: int, timeout: float = 3.0) -> bool:
    """True if a SOCKS5 server answers the method negotiation at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"\x05\x01\x00")
            return _recv_exact(sock, 2)[0] == 5
    except OSError:
        return False


def open_connection(
    socks_host: str,
    socks_port: int,
    host: str,
    port: int,
    *,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 30.0,
) -> socket.socket:
    """A socket connected to host:port through the SOCKS5 server; the name never resolves locally."""
    sock = socket.create_connection((socks_host, socks_port), timeout=timeout)
    try:
        sock.sendall(greeting(username))
        version, method = _recv_exact(sock, 2)
        if version != 5 or method == 0xFF:
            raise SocksError("SOCKS server accepted none of our authentication methods")
        if method == 2:
            sock.sendall(auth_request(username or "", password or ""))
            if _recv_exact(sock, 2)[1] != 0:
                raise SocksError("SOCKS username/password refused")
        sock.sendall(connect_request(host, port))
        head = _recv_exact(sock, 5)
        if head[1] != 0:
            raise reply_error(head[1])
        _recv_exact(sock, reply_length(head) - 5)
        return sock
    except BaseException:
        sock.close()
        raise


def http_get(socks_host: str, socks_port: int, host: str, port: int = 80, path: str = "/", **kw) -> bytes:
    """The raw HTTP/1.0 response of GET path, fetched through SOCKS (used as a readiness probe)."""
    with open_connection(socks_host, socks_port, host, port, **kw) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)
