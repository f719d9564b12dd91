"""Downloading one ad image into memory: the crawler's SSRF decision, politeness, hard limits.

Every hop (the URL and each redirect) is vetted by ``vigil.core.addresses.vet`` and the
connection goes to the vetted address, so DNS cannot answer differently between the check and
the connection. The body is read in chunks and abandoned past ``max_bytes``; nothing touches the
disk. Requests to one host are spaced by the profile's ``download_delay``, robots.txt is obeyed
when the profile obeys it, and no cookies, referrers or credentials are sent.
"""

from __future__ import annotations

import threading
import time
import urllib.robotparser
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from vigil.core.addresses import ALLOWED_SCHEMES, Network, vet

MAX_REDIRECTS = 3
CHUNK = 64 * 1024
ROBOTS_MAX_BYTES = 512 * 1024
ROBOTS_CACHE = 1024
IMAGE_TYPES = ("image/",)


class FetchFailed(Exception):
    """The image was not fetched; ``cause`` labels the failure metric."""

    def __init__(self, cause: str, message: str):
        super().__init__(message)
        self.cause = cause


@dataclass
class FetchPolicy:
    """What a profile allows: its network reach, its politeness and the image size limit."""

    allow_private: bool = False
    deny: list[Network] = field(default_factory=list)
    max_bytes: int = 5 * 1024 * 1024
    timeout: float = 20.0
    delay: float = 1.0
    obey_robots: bool = True
    user_agent: str = ""


class ImageFetcher:
    """Thread-safe; remembers per-host request times and robots.txt rules (bounded)."""

    def __init__(self) -> None:
        import urllib3

        self._pools = urllib3.PoolManager(num_pools=32, retries=False)
        self._last: dict[str, float] = {}
        self._robots: OrderedDict[str, urllib.robotparser.RobotFileParser] = OrderedDict()
        self._lock = threading.Lock()

    def fetch(self, url: str, policy: FetchPolicy) -> bytes:
        """The image's bytes; raises FetchFailed."""
        for _ in range(MAX_REDIRECTS + 1):
            if policy.obey_robots and not self._allowed_by_robots(url, policy):
                raise FetchFailed("robots", f"robots.txt disallows {url}")
            status, headers, body = self._get(url, policy, policy.max_bytes, image=True)
            if status in (301, 302, 303, 307, 308) and headers.get("location"):
                url = urljoin(url, headers["location"])
                continue
            if status != 200:
                raise FetchFailed("http_status", f"HTTP {status} for {url}")
            return body
        raise FetchFailed("redirects", f"more than {MAX_REDIRECTS} redirects")

    def _get(self, url: str, policy: FetchPolicy, limit: int, *, image: bool) -> tuple[int, dict, bytes]:
        import urllib3

        parts = urlsplit(url)
        if parts.scheme not in ALLOWED_SCHEMES or not parts.hostname:
            raise FetchFailed("refused_address", f"not an http(s) URL: {url[:200]}")
        host = parts.hostname.lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            vetted = vet(host, port, allow_private=policy.allow_private, deny=policy.deny)
        except OSError as exc:
            raise FetchFailed("dns", f"cannot resolve {host} ({exc})") from None
        if vetted.reason:
            raise FetchFailed("refused_address", f"refused {url[:200]}: {vetted.reason}")
        address = str(vetted.addresses[0])
        self._wait_turn(host, policy.delay)
        pool_options = {"server_hostname": host, "assert_hostname": host} if parts.scheme == "https" else {}
        pool = self._pools.connection_from_host(
            address, port=port, scheme=parts.scheme, pool_kwargs=pool_options
        )
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = {
            "Host": parts.netloc.rsplit("@", 1)[-1],
            "User-Agent": policy.user_agent,
            "Accept": "image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8" if image else "text/plain",
            "Accept-Encoding": "identity",
        }
        timeout = urllib3.Timeout(connect=policy.timeout, read=policy.timeout)
        deadline = time.monotonic() + policy.timeout
        try:
            response = pool.urlopen(
                "GET", path, headers=headers, redirect=False, preload_content=False,
                decode_content=False, timeout=timeout, assert_same_host=False,
            )  # fmt: skip
        except urllib3.exceptions.TimeoutError as exc:
            raise FetchFailed("timeout", f"{url[:200]}: {exc}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise FetchFailed("connection", f"{url[:200]}: {type(exc).__name__}") from None
        try:
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status != 200:
                return response.status, response_headers, b""
            kind = response_headers.get("content-type", "").lower()
            if image and kind and not kind.startswith(IMAGE_TYPES):
                raise FetchFailed("not_image", f"{url[:200]} is {kind[:60]}")
            declared = response_headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise FetchFailed("too_large", f"{url[:200]} declares {declared} bytes (limit {limit})")
            body = bytearray()
            for chunk in response.stream(CHUNK, decode_content=False):
                body += chunk
                if len(body) > limit:
                    raise FetchFailed("too_large", f"{url[:200]} is over {limit} bytes")
                if time.monotonic() > deadline:
                    raise FetchFailed("timeout", f"{url[:200]} took over {policy.timeout:g}s")
            return response.status, response_headers, bytes(body)
        except urllib3.exceptions.TimeoutError as exc:
            raise FetchFailed("timeout", f"{url[:200]}: {exc}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise FetchFailed("connection", f"{url[:200]}: {type(exc).__name__}") from None
        finally:
            response.release_conn()

    def _wait_turn(self, host: str, delay: float) -> None:
        """Space requests to one host by ``delay`` seconds (the profile's download_delay)."""
        with self._lock:
            now = time.monotonic()
            turn = max(now, self._last.get(host, 0.0) + delay)
            self._last[host] = turn
            if len(self._last) > ROBOTS_CACHE:
                self._last = {h: t for h, t in self._last.items() if t > now - 60}
        if turn > now:
            time.sleep(turn - now)

    def _allowed_by_robots(self, url: str, policy: FetchPolicy) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            rules = self._robots.get(origin)
        if rules is None:
            rules = urllib.robotparser.RobotFileParser()
            try:
                status, _, body = self._get(origin + "/robots.txt", policy, ROBOTS_MAX_BYTES, image=False)
            except FetchFailed as exc:
                if exc.cause == "refused_address":
                    raise
                status, body = 404, b""
            if status in (401, 403):
                rules.disallow_all = True
            elif status == 200:
                rules.parse(body.decode("utf-8", errors="replace").splitlines())
            else:
                rules.allow_all = True
            with self._lock:
                self._robots[origin] = rules
                while len(self._robots) > ROBOTS_CACHE:
                    self._robots.popitem(last=False)
        return rules.can_fetch(policy.user_agent or "*", url)
