"""Crawling over Tor, end to end, on a private Tor network (``vigil tor testnet``) on 127.0.0.1.

The network is started once for this module (``vigil tor testnet up`` as a subprocess, under a
scratch VIGIL_HOME) with four onion services: the fixture board, a "gallery" that links images
and logs every request, a board that always answers 503, and the feeds (a JSON API among them). It is stopped at the end, and the
test checks that no tor process it started survives.

Every ``vigil crawl`` here runs with a ``sitecustomize`` shim that makes any local resolution of
an ``.onion`` name (socket.getaddrinfo/gethostbyname*, Twisted's reactor.resolve, which Scrapy's
resolver sits behind) record the name and fail; each crawl asserts that the record stays empty.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.conftest import vigil_executable
from tests.fixture_site.feeds import FeedSite
from tests.fixture_site.server import FixtureSite
from tests.helpers import wait_for
from vigil.core.onion import onion_from_pubkey

pytestmark = [
    pytest.mark.integration,
    pytest.mark.tor,
    pytest.mark.skipif(not (shutil.which("tor") and shutil.which("tor-gencert")), reason="tor is not installed"),
]

DNS_SHIM = '''
"""Test-only: any local resolution of an .onion name is recorded and fails."""
import os, socket

_LOG = os.environ["VIGIL_TEST_DNS_LOG"]


def _onion(host):
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return isinstance(host, str) and host.rstrip(".").lower().endswith(".onion")


def _guard(name, real):
    def guarded(host, *args, **kwargs):
        if _onion(host):
            with open(_LOG, "a") as log:
                log.write(f"{name} {host}\\n")
            raise socket.gaierror(socket.EAI_NONAME, f"test shim: local lookup of {host} refused")
        return real(host, *args, **kwargs)
    return guarded


for _name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
    setattr(socket, _name, _guard(_name, getattr(socket, _name)))

from twisted.internet import base as _base

_base.ReactorBase.resolve = _guard("reactor.resolve", _base.ReactorBase.resolve)
'''

GALLERY_HTML = """<!doctype html><html><head><title>Gallery</title>
<link rel="stylesheet" href="/static/site.css"></head><body>
<h1>Gallery</h1><img src="/img/front.jpg" alt="front">
<ul><li><a href="/img/a.jpg">photo a</a></li><li><a href="/img/b.png">photo b</a></li>
<li><a href="/photo">photo without extension</a></li><li><a href="/ad/1">ad 1</a></li></ul>
</body></html>"""

AD_HTML = "<!doctype html><html><head><title>Ad 1</title></head><body><h1>Ad 1</h1></body></html>"

# For tor.allow_js: a page built by script, which also tries an image, a font and an image/jpeg fetch.
GALLERY_JS_HTML = """<!doctype html><html><head><title>JS gallery</title>
<script src="/static/app.js"></script></head><body><img src="/img/js.jpg">
<style>@font-face { font-family: f; src: url("/static/f.woff2"); } body { font-family: f; }</style>
<script>
fetch("/photo").catch(() => 0);
fetch("/ad/1").then(r => r.text()).then(() => {
  const p = document.createElement("p"); p.id = "done"; p.textContent = "built-by-js"; document.body.appendChild(p);
});
</script></body></html>"""


class LoggingServer:
    """A tiny HTTP server on 127.0.0.1 that records every request path; ``status`` for every page."""

    def __init__(self, status: int = 200):
        self.requests: list[str] = []
        self.status = status
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - BaseHTTPRequestHandler's name
                server.requests.append(self.path)
                if server.status != 200:
                    return self._send(server.status, "text/html", b"<html><body>unavailable</body></html>")
                if self.path in ("/", "/index.html"):
                    return self._send(200, "text/html; charset=utf-8", GALLERY_HTML.encode())
                if self.path == "/ad/1":
                    return self._send(200, "text/html; charset=utf-8", AD_HTML.encode())
                if self.path == "/js":
                    return self._send(200, "text/html; charset=utf-8", GALLERY_JS_HTML.encode())
                if self.path == "/static/app.js":
                    return self._send(200, "text/javascript", b"window.appLoaded = true;")
                if self.path == "/photo":
                    return self._send(200, "image/jpeg", b"\xff\xd8\xff" + b"\0" * 50_000)
                return self._send(404, "text/html", b"<html>not found</html>")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LoggingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


class TorNet:
    """The running testnet: its environment for Vigil and the onion of each server."""

    def __init__(self, home: Path, env: dict[str, str], onions: dict[str, str], seconds: float):
        self.home = home
        self.env = env
        self.onions = onions
        self.seconds = seconds

    def controller(self):
        from stem.control import Controller

        controller = Controller.from_port(address="127.0.0.1", port=int(self.env["VIGIL_TOR_CONTROL_PORT"]))
        controller.authenticate()
        return controller


def _testnet_pids(home: Path) -> list[int]:
    pids = []
    for pid_file in (home / "testnet").glob("*.pid"):
        try:
            pids.append(int(pid_file.read_text().strip()))
        except (OSError, ValueError):
            continue
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rpartition(")")[2].split()[0] not in ("Z", "X")


@pytest.fixture(scope="module")
def servers():
    with (
        FixtureSite() as board,
        LoggingServer() as gallery,
        LoggingServer(status=503) as failing,
        FeedSite() as feeds,
    ):
        yield {"board": board, "gallery": gallery, "failing": failing, "feeds": feeds}


@pytest.fixture(scope="module")
def tornet(servers, tmp_path_factory):
    """``vigil tor testnet up`` once for the module; ``down`` afterwards, checking nothing survives."""
    home = tmp_path_factory.mktemp("tor-home")
    env = {**os.environ, "VIGIL_HOME": str(home)}
    env.pop("VIGIL_CONFIG", None)
    targets = {name: f"127.0.0.1:{server.port}" for name, server in servers.items()}
    args = [vigil_executable(), "tor", "testnet", "up", "--print-env", "--timeout", "150"]
    for target in targets.values():
        args += ["--onion-for", target]
    started = time.monotonic()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=200)
    seconds = time.monotonic() - started
    try:
        assert proc.returncode == 0, proc.stderr
        exports = dict(
            line.removeprefix("export ").split("=", 1) for line in proc.stdout.splitlines() if line.strip()
        )
        assert all(line.startswith("export VIGIL_") for line in proc.stdout.splitlines() if line.strip())
        status = subprocess.run(
            [vigil_executable(), "tor", "testnet", "status", "--json"], env=env, capture_output=True, text=True
        )
        assert status.returncode == 0, status.stderr
        by_target = json.loads(status.stdout)["onions"]
        onions = {name: by_target[target] for name, target in targets.items()}
        print(f"testnet cold start to onion-ready: {seconds:.1f}s")
        yield TorNet(home, {"VIGIL_HOME": str(home), **exports}, onions, seconds)
    finally:
        pids = _testnet_pids(home)
        down = subprocess.run([vigil_executable(), "tor", "testnet", "down"], env=env, capture_output=True, text=True)
        assert down.returncode == 0, down.stderr
        survivors = [pid for pid in pids if _alive(pid)]
        assert not survivors, f"tor processes still running after `vigil tor testnet down`: {survivors}"


@pytest.fixture
def crawl(vigil_env, tornet, tmp_path):
    """Run `vigil crawl --json` on a profile dict, over the testnet, with the DNS shim."""
    shim_dir = tmp_path / "dns-shim"
    shim_dir.mkdir()
    (shim_dir / "sitecustomize.py").write_text(DNS_SHIM)
    dns_log = tmp_path / "dns.log"
    dns_log.write_text("")

    def run(profile: dict, *args: str, extra_env: dict[str, str] | None = None, check: bool = True):
        path = tmp_path / f"{profile['id']}.yaml"
        path.write_text(yaml.safe_dump(profile, sort_keys=False))
        env = {**vigil_env.env, **tornet.env, **(extra_env or {})}
        env["VIGIL_TEST_DNS_LOG"] = str(dns_log)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim_dir), env.get("PYTHONPATH")]))
        proc = subprocess.run(
            [vigil_executable(), "crawl", str(path), "--json", *args],
            env=env, cwd=vigil_env.cwd, capture_output=True, text=True, timeout=300,
        )
        lookups = dns_log.read_text()
        assert lookups == "", f"local DNS lookups of onion names:\n{lookups}"
        summary = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else None
        if check:
            assert proc.returncode == 0 and summary and summary["ok"], proc.stderr[-4000:]
        return proc, summary

    run.dns_log = dns_log
    run.shim_dir = shim_dir
    return run


def board_profile(profile_id: str, onion: str, max_pages: int = 40) -> dict:
    return {
        "id": profile_id,
        "network": "tor",
        "start_urls": [f"http://{onion}/"],
        "follow": [{"css": "a.category"}, {"css": "a.next"}],
        "ads": {"url_regex": r"/ad/\d+$", "id_regex": r"/ad/(\d+)$"},
        "politeness": {"download_delay": 0, "autothrottle": False},
        "limits": {"max_pages": max_pages},
    }


def raw_pages(settings) -> list[dict]:
    from vigil.core import kafka

    consumer = kafka.consumer(settings.kafka, None, settings.kafka.topics.pages_raw, consumer_timeout_ms=3000)
    try:
        return [json.loads(message.value) for message in consumer]
    finally:
        consumer.close()


def test_fixture_board_as_onion_is_crawled_into_kafka(vigil_env, tornet, crawl):
    onion = tornet.onions["board"]
    _, summary = crawl(board_profile("onion-board", onion))
    pages = raw_pages(vigil_env.settings)
    assert summary["pages"] >= 10 and summary["ads"] >= 5, summary
    assert len(pages) == summary["published"]
    assert {p["network"] for p in pages} == {"tor"}
    assert all(p["url"].startswith(f"http://{onion}/") for p in pages)
    assert any(p["page_type"] == "ad" for p in pages)


@pytest.mark.skipif(
    importlib.util.find_spec("pipelines.analysis") is None, reason="enrichment (pipelines.analysis) not built yet"
)
def test_onion_ads_are_enriched_with_network_tor(vigil_env, tornet, crawl, tmp_path):
    from vigil.core.elastic import client

    crawl(board_profile("onion-enrich", tornet.onions["board"], max_pages=20))
    log = open(tmp_path / "enrich.log", "ab")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [vigil_executable(), "worker", "enrich", "--group", f"tor-{vigil_env.uid}"],
        env=vigil_env.env, stdout=log, stderr=log,
    )
    es = client(vigil_env.settings.es)
    alias = vigil_env.settings.es.indices.ads

    def docs() -> list[dict]:
        if not es.indices.exists(index=alias):
            return []
        es.indices.refresh(index=alias)
        return [h["_source"] for h in es.search(index=alias, size=1000, query={"match_all": {}})["hits"]["hits"]]

    try:
        assert wait_for(lambda: len(docs()) >= 5, timeout=120), (tmp_path / "enrich.log").read_text()[-3000:]
        found = docs()
        assert {d["network"] for d in found} == {"tor"}
        assert all(".onion/" in d["url"] for d in found)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
        es.close()


def test_json_source_is_routed_through_tor(vigil_env, tornet, crawl, servers):
    """A JSON API behind an onion: every request over Tor (no local resolution), items per result."""
    onion = tornet.onions["feeds"]
    text = (Path(__file__).resolve().parents[2] / "profiles" / "examples" / "jobs-api.yaml").read_text()
    profile = yaml.safe_load(text.replace("http://127.0.0.1:8710/", f"http://{onion}/"))
    profile.update(id="onion-jobs", network="tor", allow_private_network=False)
    profile["politeness"] = {"download_delay": 0, "autothrottle": False}
    _, summary = crawl(profile)
    assert sorted(summary["ad_ids"]) == sorted(f"J-{n}" for n in range(501, 513)) and summary["pages"] == 3, (
        json.dumps(summary)
    )
    assert servers["feeds"].hits("/api/v2/jobs") == 3
    pages = raw_pages(vigil_env.settings)
    assert {p["network"] for p in pages} == {"tor"} and len(pages) == 15
    assert {p["url"] for p in pages if p["ad_id"] == "J-512"} == {f"http://{onion}/jobs/J-512"}


def test_the_dns_shim_is_active(crawl, vigil_env):
    """The guard proves nothing unless it fires: a local lookup of an .onion name is recorded."""
    env = {**vigil_env.env, "VIGIL_TEST_DNS_LOG": str(crawl.dns_log), "PYTHONPATH": str(crawl.shim_dir)}
    code = "import socket\ntry:\n    socket.getaddrinfo('example.onion', 80)\nexcept OSError:\n    pass\n"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert "getaddrinfo example.onion" in crawl.dns_log.read_text()
    crawl.dns_log.write_text("")


def _stream_circuits(tornet, run) -> dict[str, set[str]]:
    """Run ``run()`` while recording, per onion stream, the circuit it used; circuit -> usernames."""
    from stem.control import EventType

    streams: list[tuple[str, str]] = []

    def on_stream(event):
        if event.status == "SUCCEEDED" and event.circ_id and (event.target_address or "").endswith(".onion"):
            streams.append((event.circ_id, event.target_address))

    with tornet.controller() as controller:
        controller.add_event_listener(on_stream, EventType.STREAM)
        run()
        time.sleep(0.5)
        circuits = {c.id: c.socks_username for c in controller.get_circuits([])}
    used: dict[str, set[str]] = {}
    for circ_id, _ in streams:
        used.setdefault(circuits.get(circ_id) or "?", set()).add(circ_id)
    return used


def test_two_profiles_use_different_circuits(tornet, crawl):
    onion = tornet.onions["board"]
    first = _stream_circuits(tornet, lambda: crawl(board_profile("iso-one", onion, max_pages=4)))
    second = _stream_circuits(tornet, lambda: crawl(board_profile("iso-two", onion, max_pages=4)))
    assert set(first) == {"vigil:iso-one"}, first
    assert set(second) == {"vigil:iso-two"}, second
    assert not first["vigil:iso-one"] & second["vigil:iso-two"], (first, second)


def test_newnym_after_repeated_failures(tornet, crawl, servers):
    from stem.control import EventType

    signals: list[str] = []
    profile = {
        "id": "always-503",
        "network": "tor",
        "start_urls": [f"http://{tornet.onions['failing']}/"],
        "ads": {"url_regex": r"/ad/\d+$"},
        "politeness": {"download_delay": 0, "autothrottle": False, "obey_robots": False, "retries": 1},
        "limits": {"max_pages": 1},
    }
    before = len(servers["failing"].requests)
    with tornet.controller() as controller:
        controller.add_event_listener(lambda e: signals.append(e.signal), EventType.SIGNAL)
        proc, _ = crawl(profile, extra_env={"VIGIL_TOR_NEWNYM_AFTER_FAILURES": "2"}, check=False)
        time.sleep(0.5)
    assert "NEWNYM" in signals, proc.stderr[-4000:]
    # 503, retry 503 (2 failures) -> NEWNYM and a retry on fresh circuits -> more requests.
    assert len(servers["failing"].requests) - before >= 3


def test_media_is_never_fetched_over_tor(vigil_env, tornet, crawl, servers):
    onion = tornet.onions["gallery"]
    profile = {
        "id": "onion-gallery",
        "network": "tor",
        "start_urls": [f"http://{onion}/", f"http://{onion}/img/direct.jpg", f"http://{onion}/photo"],
        "follow": [{"css": "a"}],
        "ads": {"url_regex": r"/ad/\d+$"},
        "politeness": {"download_delay": 0, "autothrottle": False, "obey_robots": False},
        "limits": {"max_pages": 20},
    }
    crawl(profile)
    requested = Counter(servers["gallery"].requests)
    assert requested["/"] >= 1 and requested["/ad/1"] >= 1, requested
    media = [p for p in requested if p.startswith(("/img/", "/static/"))]
    assert not media, f"media requested over Tor: {media}"
    pages = raw_pages(vigil_env.settings)
    urls = {p["url"] for p in pages}
    assert f"http://{onion}/ad/1" in urls
    assert not any(u.endswith("/photo") for u in urls), "an image/jpeg response was kept"


@pytest.mark.browser
def test_javascript_over_tor_is_isolated_and_policed(vigil_env, tornet, crawl, servers):
    """tor.allow_js: Chromium's requests go through the guard proxy to tor with the profile's own
    SOCKS credentials; scripts load, media and fonts never do, an image/jpeg response is cut."""
    onion = tornet.onions["gallery"]
    profile = {
        "id": "js-gallery",
        "network": "tor",
        "render_js": True,
        "render_resources": ["image", "font", "media"],  # ignored over Tor
        "wait_for": {"css": "#done", "timeout": 60, "pages": "all"},
        "start_urls": [f"http://{onion}/js"],
        "ads": {"url_regex": r"/ad/\d+$"},
        "politeness": {"download_delay": 0, "autothrottle": False, "obey_robots": False, "timeout": 90},
        "limits": {"max_pages": 1, "max_depth": 0},
    }
    before = len(servers["gallery"].requests)
    results = {}

    def run():
        results["proc"], results["summary"] = crawl(profile, extra_env={"VIGIL_TOR_ALLOW_JS": "true"})

    circuits = _stream_circuits(tornet, run)
    proc, summary = results["proc"], results["summary"]
    assert summary["pages"] == 1, proc.stderr[-4000:]
    assert set(circuits) == {"vigil:js-gallery"}, circuits
    requested = Counter(servers["gallery"].requests[before:])
    assert requested["/js"] >= 1 and requested["/static/app.js"] >= 1 and requested["/ad/1"] >= 1, requested
    assert not [p for p in requested if p.startswith("/img/") or p.endswith(".woff2")], requested
    assert "refused over Tor: Content-Type 'image/jpeg'" in proc.stderr
    assert "browser traffic goes through the guard proxy" in proc.stderr
    body = next(p["body"] for p in raw_pages(vigil_env.settings) if p["url"].endswith("/js"))
    assert "built-by-js" in body


def _crawl_refused(vigil_env, tmp_path, profile: dict) -> subprocess.CompletedProcess:
    path = tmp_path / f"{profile['id']}.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    return subprocess.run(
        [vigil_executable(), "crawl", str(path), "--json"],
        env=vigil_env.env, capture_output=True, text=True, timeout=120,
    )


def test_render_js_over_tor_is_refused(vigil_env, tmp_path):
    profile = {
        "id": "js-over-tor",
        "network": "tor",
        "render_js": True,
        "start_urls": [f"http://{onion_from_pubkey(bytes(32))}/"],
        "ads": {"url_regex": r"/ad/\d+$"},
    }
    proc = _crawl_refused(vigil_env, tmp_path, profile)
    assert proc.returncode == 2
    assert "render_js over Tor is refused" in proc.stderr


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("expyuzz4wqqyqhjn.onion", "v2 onion address"),
        (onion_from_pubkey(bytes(32)).replace("a", "b", 1), "checksum"),
        ("not-an-onion-at-all-but-ends-in.onion", "not a valid v3 onion address"),
    ],
)
def test_invalid_or_v2_onion_is_rejected(vigil_env, tmp_path, host, message):
    profile = {"id": "bad-onion", "network": "tor", "start_urls": [f"http://{host}/"], "ads": {"url_regex": "/ad/"}}
    proc = _crawl_refused(vigil_env, tmp_path, profile)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
