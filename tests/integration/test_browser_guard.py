"""A hostile JavaScript page rendered by the real Chromium reaches nothing the guard refuses.

The profile allows private networks, and the configuration denies 127.0.0.2: the SSRF guard's
decision is "127.0.0.1 yes, 127.0.0.2 no". A canary listens on 127.0.0.2 (TCP and UDP, one port)
and counts every connection and datagram. The page on 127.0.0.1 tries every way out a page has
-- img, script, stylesheet, CSS url() and @import, fonts, video, iframe, fetch, XHR, sendBeacon,
EventSource, websocket, dedicated/shared/service workers, a redirect, a meta refresh, a script
navigation in a frame, window.open, a form post, preconnect/prefetch, WebRTC with a STUN server,
a name that resolves to the canary and one that rebinds to it after its first lookup. The canary
must see nothing, while the allowed twins of the same requests do arrive at the page server
(proof that each path really ran and went through the proxy).

Name resolution is simulated in the crawl process by a ``sitecustomize`` shim (``*.vigil.test``):
Chromium resolves nothing itself, so the proxy's lookups are the only ones there are.
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.conftest import vigil_executable

pytestmark = pytest.mark.integration

CANARY_HOST = "127.0.0.2"

DNS_SHIM = '''
"""Test-only resolver: canary.vigil.test -> 127.0.0.2; rebind.vigil.test -> 127.0.0.1 once, then 127.0.0.2."""
import os, socket

_real = socket.getaddrinfo
_seen = set()


def getaddrinfo(host, port, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name == "canary.vigil.test":
        return _real("127.0.0.2", port, *args, **kwargs)
    if name == "rebind.vigil.test":
        first = name not in _seen
        _seen.add(name)
        with open(os.environ["VIGIL_TEST_DNS_LOG"], "a") as log:
            log.write(name + "\\n")
        return _real("127.0.0.1" if first else "127.0.0.2", port, *args, **kwargs)
    return _real(host, port, *args, **kwargs)


def gethostbyname(host):
    return getaddrinfo(host, 80, socket.AF_INET)[0][4][0]


socket.getaddrinfo = getaddrinfo
socket.gethostbyname = gethostbyname
'''

HOSTILE = """<!doctype html><html><head><title>hostile</title>
<meta charset="utf-8">
<link rel="stylesheet" href="{C}/style.css">
<link rel="preconnect" href="{C}/">
<link rel="prefetch" href="{C}/prefetch">
<link rel="preload" href="{C}/preload.js" as="script">
<link rel="icon" href="{C}/favicon.ico">
<style>
  @import url("{C}/import.css");
  @font-face {{ font-family: x; src: url("{C}/font.woff2"); }}
  body {{ background: url("{C}/css-bg.png"); font-family: x; }}
</style>
<style>@import url("/seen/css-import");</style>
<script src="{C}/script.js"></script>
</head><body>
<h1>Hostile page</h1>
<img src="{C}/img.png"><img src="http://canary.vigil.test:{P}/by-name.png">
<img src="http://2130706434:{P}/decimal.png"><img src="http://[::ffff:127.0.0.2]:{P}/mapped.png">
<video src="{C}/video.mp4" autoplay muted></video>
<iframe src="{C}/iframe"></iframe>
<iframe src="/redirect"></iframe>
<iframe src="/meta-refresh"></iframe>
<iframe src="/navigate"></iframe>
<iframe src="http://canary.vigil.test:{P}/iframe-by-name"></iframe>
<form id="f" action="{C}/form" method="post" target="sink"><input name="a" value="b"></form>
<iframe name="sink"></iframe>
<script>
const C = "{C}", P = {P};
const tried = [];
function attempt(name, fn) {{ try {{ fn(); tried.push(name); }} catch (e) {{ tried.push(name + ":" + e.name); }} }}
attempt("fetch", () => fetch(C + "/fetch").catch(() => 0));
attempt("fetch-name", () => fetch("http://canary.vigil.test:" + P + "/fetch-name").catch(() => 0));
attempt("fetch-redirect", () => fetch("/redirect?fetch").catch(() => 0));
attempt("fetch-allowed", () => fetch("/seen/fetch").catch(() => 0));
attempt("xhr", () => {{ const x = new XMLHttpRequest(); x.open("GET", C + "/xhr"); x.send(); }});
attempt("beacon", () => navigator.sendBeacon(C + "/beacon", "x"));
attempt("eventsource", () => new EventSource(C + "/events"));
attempt("websocket", () => new WebSocket("ws://127.0.0.2:" + P + "/ws"));
attempt("websocket-name", () => new WebSocket("ws://canary.vigil.test:" + P + "/ws"));
attempt("worker", () => new Worker("/worker.js"));
attempt("blob-worker", () => new Worker(URL.createObjectURL(new Blob(
  ["fetch('" + C + "/blob-worker').catch(()=>0); fetch('" + location.origin + "/seen/blob-worker');"],
  {{type: "text/javascript"}}))));
attempt("shared-worker", () => new SharedWorker("/shared-worker.js"));
attempt("service-worker", () => navigator.serviceWorker.register("/sw.js").catch(() => 0));
attempt("import", () => import(C + "/module.js").catch(() => 0));
attempt("open", () => window.open(C + "/popup"));
attempt("form", () => document.getElementById("f").submit());
attempt("webrtc", () => {{
  const pc = new RTCPeerConnection({{iceServers: [{{urls: "stun:127.0.0.2:" + P}}, {{urls: "turn:127.0.0.2:" + P + "?transport=tcp", username: "u", credential: "p"}}]}});
  pc.createDataChannel("x");
  pc.createOffer().then(o => pc.setLocalDescription(o)).catch(() => 0);
}});
for (let i = 0; i < 3; i++) {{
  attempt("rebind-" + i, () => fetch("http://rebind.vigil.test:" + P + "/rebind-" + i).catch(() => 0));
}}
setTimeout(() => {{
  const done = document.createElement("p");
  done.id = "done";
  done.textContent = tried.join(",");
  document.body.appendChild(done);
}}, 4000);
</script>
</body></html>"""

WORKER_JS = 'fetch("{C}/worker-fetch").catch(() => 0); fetch("/seen/worker").catch(() => 0);'
SW_JS = """self.addEventListener("install", () => {{
  fetch("{C}/sw-fetch").catch(() => 0); fetch("/seen/service-worker").catch(() => 0);
}});"""
SHARED_JS = 'fetch("{C}/shared-fetch").catch(() => 0); fetch("/seen/shared-worker").catch(() => 0);'


class Canary:
    """Counts every TCP connection and UDP datagram to CANARY_HOST:port (and answers HTTP 200)."""

    def __init__(self, port: int = 0):
        self.hits: list[str] = []
        canary = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(2)
                try:
                    first = self.request.recv(200).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    first = "(no data)"
                canary.hits.append(f"tcp {first}")
                try:
                    self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                except OSError:
                    pass

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._tcp = socketserver.ThreadingTCPServer((CANARY_HOST, port), Handler)
        self._tcp.daemon_threads = True
        self.port = self._tcp.server_address[1]
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind((CANARY_HOST, self.port))
        self._udp.settimeout(0.2)
        self._stop = threading.Event()

    def _udp_loop(self):
        while not self._stop.is_set():
            try:
                data, peer = self._udp.recvfrom(2048)
            except OSError:
                continue
            self.hits.append(f"udp {len(data)} bytes from {peer}")

    def __enter__(self) -> Canary:
        threading.Thread(target=self._tcp.serve_forever, daemon=True).start()
        threading.Thread(target=self._udp_loop, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._tcp.shutdown()
        self._tcp.server_close()
        self._udp.close()


class HostileSite:
    """The hostile page on 127.0.0.1; records every path it is asked for."""

    def __init__(self, canary_port: int, host_port: int = 0):
        self.paths: list[str] = []
        site = self
        canary = f"http://{CANARY_HOST}:{canary_port}"
        pages = {
            "/": ("text/html; charset=utf-8", HOSTILE.format(C=canary, P=canary_port)),
            "/worker.js": ("text/javascript", WORKER_JS.format(C=canary)),
            "/shared-worker.js": ("text/javascript", SHARED_JS.format(C=canary)),
            "/sw.js": ("text/javascript", SW_JS.format(C=canary)),
            "/meta-refresh": (
                "text/html",
                f'<html><head><meta http-equiv="refresh" content="0;url={canary}/meta"></head><body>m</body></html>',
            ),
            "/navigate": ("text/html", f'<html><body><script>location.href = "{canary}/navigate";</script></body></html>'),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - BaseHTTPRequestHandler's name
                site.paths.append(self.path)
                path = self.path.split("?", 1)[0]
                if path in ("/redirect", "/redirect-top"):
                    self.send_response(302)
                    self.send_header("Location", f"{canary}{path}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                content_type, body = pages.get(path, ("text/plain", "ok"))
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", host_port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> HostileSite:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.browser
def test_hostile_page_reaches_nothing_the_guard_refuses(vigil_env, tmp_path):
    config = yaml.safe_load(vigil_env.config_path.read_text()) or {}
    config.setdefault("crawl", {})["deny_networks"] = [f"{CANARY_HOST}/32"]
    vigil_env.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(DNS_SHIM)
    dns_log = tmp_path / "dns.log"
    dns_log.write_text("")
    with Canary() as canary, HostileSite(canary.port) as site:
        profile = {
            "id": "hostile",
            "start_urls": [site.url, f"{site.url}redirect-top"],
            "ads": {"url_regex": r"/ad/\d+$"},
            "render_js": True,
            "wait_for": {"css": "#done", "timeout": 20, "pages": "all"},
            "allow_private_network": True,
            "limits": {"max_pages": 2, "max_depth": 0},
            "politeness": {"download_delay": 0, "obey_robots": False, "autothrottle": False, "retries": 0},
        }
        path = tmp_path / "hostile.yaml"
        path.write_text(yaml.safe_dump(profile, sort_keys=False))
        env = {**vigil_env.env, "VIGIL_TEST_DNS_LOG": str(dns_log)}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), env.get("PYTHONPATH")]))
        proc = subprocess.Popen(
            [vigil_executable(), "crawl", str(path), "--json", "--no-publish"],
            env=env, cwd=vigil_env.cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        browsers = BrowserWatch(proc.pid)
        with browsers:
            out, log = proc.communicate(timeout=150)
        summary = json.loads(out.strip().splitlines()[-1])
    assert summary["pages"] == 1, log[-4000:]  # the page rendered; the top-level redirect was refused
    assert canary.hits == [], f"the canary was reached: {canary.hits}\n{log[-3000:]}"
    # Each path really ran: its allowed twin reached the page server through the proxy.
    for seen in ("/seen/fetch", "/seen/worker", "/seen/blob-worker", "/seen/shared-worker", "/seen/service-worker",
                 "/seen/css-import", "/redirect?fetch", "/meta-refresh", "/navigate"):
        assert seen in site.paths, f"{seen} never arrived: {site.paths}"
    # The rebinding name was looked up once and pinned: later fetches never re-resolved it.
    assert dns_log.read_text().split() == ["rebind.vigil.test"]
    assert summary["browser_refused"] >= 15, summary
    assert "browser traffic goes through the guard proxy" in log
    # Chromium ran sandboxed: no --no-sandbox, not as root (when we are), renderers in their own
    # user namespace (the namespace sandbox).
    assert browsers.processes, "no Chromium process was seen"
    assert not any("--no-sandbox" in p["cmdline"] for p in browsers.processes)
    if os.geteuid() == 0:
        assert all(p["uid"] != 0 for p in browsers.processes), browsers.processes
    renderers = [p for p in browsers.processes if "--type=renderer" in p["cmdline"]]
    own_ns = os.readlink("/proc/self/ns/user")
    assert renderers and all(p["userns"] != own_ns for p in renderers), renderers


def test_http_path_keeps_its_pins_for_the_whole_crawl(vigil_env, tmp_path):
    """Plain HTTP: a name that rebinds to the canary after its first lookup is never looked up again."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(DNS_SHIM)
    dns_log = tmp_path / "dns.log"
    dns_log.write_text("")
    config = yaml.safe_load(vigil_env.config_path.read_text()) or {}
    config.setdefault("crawl", {})["deny_networks"] = [f"{CANARY_HOST}/32"]
    vigil_env.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    with Canary() as probe:
        port = probe.port
    # The page server and the canary share a port number on 127.0.0.1 and 127.0.0.2, so a second
    # lookup (127.0.0.2) would reach the canary with the very same URL.
    with Canary(port) as canary, HostileSite(canary.port, host_port=port) as site:
        base = f"http://rebind.vigil.test:{port}/"
        profile = {
            "id": "rebinding",
            "start_urls": [base, f"{base}seen/a", f"{base}seen/b", f"{base}seen/c"],
            "allowed_domains": ["rebind.vigil.test"],
            "ads": {"url_regex": r"/ad/\d+$"},
            "allow_private_network": True,
            "limits": {"max_pages": 4, "max_depth": 0},
            "politeness": {"download_delay": 0.3, "concurrency": 1, "obey_robots": True, "autothrottle": False},
        }
        path = tmp_path / "rebinding.yaml"
        path.write_text(yaml.safe_dump(profile, sort_keys=False))
        env = {**vigil_env.env, "VIGIL_TEST_DNS_LOG": str(dns_log)}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), env.get("PYTHONPATH")]))
        proc = subprocess.run(
            [vigil_executable(), "crawl", str(path), "--json", "--no-publish"],
            env=env, cwd=vigil_env.cwd, capture_output=True, text=True, timeout=120,
        )
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["pages"] == 4, proc.stderr[-3000:]
    assert canary.hits == [], canary.hits
    assert dns_log.read_text().split() == ["rebind.vigil.test"]
    assert {"/", "/robots.txt", "/seen/a", "/seen/b", "/seen/c"} <= set(site.paths)


def test_refused_ipv4_embedding_literals_in_the_browser_path():
    """The pure decision the proxy applies, for forms a page can write but no fixture can serve."""
    from crawlers.ssrf import AddressGuard
    from vigil.core.addresses import parse_networks

    guard = AddressGuard(allow_private=True, deny=parse_networks([f"{CANARY_HOST}/32"]))
    for host in ("127.0.0.2", "::ffff:127.0.0.2", "2002:7f00:2::", "64:ff9b::7f00:2", "::127.0.0.2"):
        assert guard.decide(host, 80).reason, host
    assert guard.decide("127.0.0.1", 80).reason is None


class BrowserWatch:
    """Polls /proc for Chromium processes descending from one pid: their uid, user namespace, args."""

    def __init__(self, root: int):
        self.root = root
        self.processes: list[dict] = []
        self._seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> BrowserWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(0.3):
            parents: dict[int, int] = {}
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        parents[int(entry.name)] = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                    except (OSError, ValueError, IndexError):
                        continue
            for pid in parents:
                if pid in self._seen or not self._descends(pid, parents):
                    continue
                try:
                    cmdline = (Path(f"/proc/{pid}") / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    if "chromium" not in cmdline.split(" ", 1)[0]:
                        continue
                    status = (Path(f"/proc/{pid}") / "status").read_text()
                    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
                    userns = os.readlink(f"/proc/{pid}/ns/user")
                except (OSError, StopIteration, ValueError):
                    continue
                self._seen.add(pid)
                self.processes.append({"pid": pid, "uid": uid, "userns": userns, "cmdline": cmdline})

    def _descends(self, pid: int, parents: dict[int, int]) -> bool:
        for _ in range(20):
            if pid == self.root:
                return True
            pid = parents.get(pid, 0)
            if pid <= 1:
                return False
        return False
