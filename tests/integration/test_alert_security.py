"""Alerts on the real stack are inert and leak no secret.

* A hostile ad (its title entity-escaped in the page, so text cleaning turns it into a live
  ``<img>`` to a canary on 127.0.0.1, plus ``@everyone`` and a Markdown image) is crawled,
  enriched and alerted to an SMTP server (aiosmtpd) and a JSON webhook. Both receive plain text
  with nothing active in it; every message is then opened in Chromium as HTML and as rendered
  Markdown (the worst a client could do) and the canary still gets no request.
* Deliveries to token-bearing URLs (Telegram, Slack and Discord style, a password, a ``-token``
  query and a webhook echoing its secret path in its error page) fail, and the tokens occur 0
  times in Elasticsearch, in every Kafka topic of the test and in the worker's log.
"""

from __future__ import annotations

import email
import json
import threading
import time
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.fixture_site import FixtureSite
from tests.helpers import free_port, wait_for
from tests.integration.test_crawl import run_json, write_profile
from tests.integration.test_monitoring import Process, board_profile, configure, produce
from vigil.core.records import AdEvent

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]


class Server:
    """An HTTP server on 127.0.0.1 recording every request; POSTs answered ``status`` (body echoes the path)."""

    def __init__(self, status: int = 200) -> None:
        self.port = free_port()
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self, body: bytes) -> None:
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self._record(b"")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:  # noqa: N802
                self._record(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                answer = f"no such hook {self.path}".encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RawMailbox:
    """aiosmtpd on 127.0.0.1 keeping each message whole (to look at every MIME part)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.port = free_port()
        self.messages: list[email.message.EmailMessage] = []
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
                box.messages.append(email.message_from_bytes(envelope.content, policy=email_policy))
                return "250 OK"

        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=lambda *args: AuthResult(success=True),
            auth_require_tls=False,
        )
        self.controller.start()

    def url(self) -> str:
        return f"mailto://user:pass@127.0.0.1:{self.port}/?to=ops@example.org"

    def close(self) -> None:
        self.controller.stop()


def render_in_chromium(documents: list[str]) -> list[str]:
    """Open each document as HTML in Chromium; the URLs it tried to fetch."""
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requested.append(r.url) if r.url.startswith("http") else None)
            for document in documents:
                page.set_content(document, wait_until="load")
                page.wait_for_timeout(300)
        finally:
            browser.close()
    return requested


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_hostile_ad_reaches_mail_and_webhook_as_inert_text(vigil_env, tmp_path, request):
    canary, hook, mailbox = Server(), Server(), RawMailbox()
    for closing in (canary.close, hook.close, mailbox.close):
        request.addfinalizer(closing)
    trap = f"http://127.0.0.1:{canary.port}"
    rules = {
        "rules": [{"id": "canary-word", "when": {"keywords": ["canarybird"]}}],
        "subscribers": [
            {
                "id": "desk",
                "urls": [mailbox.url(), f"json://127.0.0.1:{hook.port}/hook"],
                "rules": ["canary-word"],
                "content": "full",
            }
        ],
    }
    configure(vigil_env, tmp_path, rules)
    processes: list[Process] = []
    request.addfinalizer(lambda: [p.stop() for p in processes])
    with FixtureSite(real_ads=False) as site:
        ad = site.add_ad(
            title=f'&lt;img src="{trap}/canary.png"&gt; @everyone canarybird',
            body=f"New in town. ![pixel]({trap}/md.png) [call me]({trap}/link) <@123456> www.example.com "
            f"&lt;img src={trap}/body.png&gt; ask for canarybird.",
        )
        profile = write_profile(tmp_path, board_profile(site))
        result, summary = run_json(vigil_env, profile, "--job-id", f"job-{vigil_env.uid}")
        assert result.returncode == 0 and summary["ads"] >= 1, result.stderr[-2000:]
    processes.append(
        Process(vigil_env, "enrich", "worker", "enrich", "--group", f"test-{vigil_env.uid}-enrich")
    )
    processes.append(Process(vigil_env, "alerts", "worker", "alerts"))
    logs = "\n".join(p.tail() for p in processes)
    assert wait_for(lambda: hook.requests and mailbox.messages, timeout=120), logs

    from vigil.core.elastic import client

    es = client(vigil_env.settings.es)
    indexed = es.get(index=vigil_env.settings.es.indices.ads, id=f"board:{ad['id']}")["_source"]
    assert "<img" in indexed["title"], (
        "the hostile title did not survive text cleaning; the test proves nothing"
    )

    posted = json.loads(hook.requests[0]["body"])
    mail = mailbox.messages[0]
    parts = [part.get_content_type() for part in mail.walk() if not part.is_multipart()]
    assert parts == ["text/plain"], parts  # no HTML part at all
    texts = {
        "webhook title": posted["title"],
        "webhook body": posted["message"],
        "mail subject": str(mail["subject"]),
        "mail body": mail.get_body(preferencelist=("plain",)).get_content(),
    }
    for name, text in texts.items():
        for active in ("<img", "<@", "](", "http://127.0.0.1", "@everyone", "www.example.com"):
            assert active not in text, f"{name} carries {active!r}: {text!r}"
    assert f"board:{ad['id']}" in texts["webhook body"] and "canarybird" in texts["webhook body"]
    assert hook.requests[0]["headers"].get("Idempotency-Key"), hook.requests[0]["headers"]

    print("webhook body as received:\n" + texts["webhook body"])
    import markdown

    rendered = [*texts.values(), *(markdown.markdown(text) for text in texts.values())]
    fetched = render_in_chromium(rendered)
    print(f"documents opened in Chromium: {len(rendered)}; requests to anywhere: {len(fetched)}")
    assert not fetched and not canary.requests, (fetched, canary.requests)


TOKENS = {
    "telegram": (
        "tgram://{t1}:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/12315544/",
        "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    ),
    "slack": ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general", "TIiajkdnlazkcOXrIdevi7FQ"),
    "discord": ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "JHMHI8qBe7bk2ZwO5U711o3dV_js"),
}


@pytest.mark.timeout(240)
def test_failing_token_urls_leave_no_token_anywhere(vigil_env, tmp_path, request, monkeypatch):
    echo = Server(status=403)
    request.addfinalizer(echo.close)
    down = free_port()
    secrets = {
        "path": "PathTok3nQ81bXz",
        "query": "QueryTok3nZ55wr",
        "password": "Passw0rdK77mnb",
        "env": "EnvTok3nH4l9px",
    }
    urls = [
        TOKENS["telegram"][0].format(t1="123456789"),
        TOKENS["slack"][0],
        TOKENS["discord"][0],
        f"json://127.0.0.1:{echo.port}/hooks/{secrets['path']}?-token={secrets['query']}",
        f"json://alice:{secrets['password']}@127.0.0.1:{down}/hook",
        f"form://127.0.0.1:{echo.port}/t/${{VIGIL_TEST_HOOK_TOKEN}}?token={secrets['query']}",
    ]
    monkeypatch.setenv("VIGIL_TEST_HOOK_TOKEN", secrets["env"])
    vigil_env.env["VIGIL_TEST_HOOK_TOKEN"] = secrets["env"]
    rules = {
        "rules": [{"id": "high-risk", "when": {"min_risk": 70}}],
        "subscribers": [{"id": "leaky", "urls": urls, "rules": ["high-risk"]}],
    }
    configure(vigil_env, tmp_path, rules, alerts={"attempts": 2, "backoff_seconds": 0.2})
    produce(
        vigil_env.settings,
        AdEvent(
            event_type="ad.new", ad_key="site:1", profile_id="site", url="http://site.test/ad/1", risk=90
        ),
    )
    worker = Process(vigil_env, "alerts", "worker", "alerts")
    request.addfinalizer(worker.stop)

    def failed() -> list[dict]:
        out = vigil_env.run("alerts", "history", "--json", "--status", "failed")
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]

    assert wait_for(failed, timeout=120), worker.tail()
    record = failed()[0]
    assert record["subscriber"] == "leaky" and len(record["error"].split("; ")) >= 5, record
    assert echo.requests, "the echoing webhook was never called"
    shown = vigil_env.run("alerts", "rules").stdout + vigil_env.run("alerts", "history").stdout
    worker.stop()

    tokens = [token for _, token in TOKENS.values()] + list(secrets.values())
    stored = es_dump(vigil_env) + kafka_dump(vigil_env.settings)
    log = Path(worker.log_path).read_text(errors="replace")
    counts = {t: stored.count(t) + log.count(t) + shown.count(t) for t in tokens}
    print(f"token occurrences in ES, Kafka, the log and the CLI output: {counts}")
    print(f"recorded error: {record['error'][:400]}")
    assert not any(counts.values()), counts


def es_dump(vigil_env) -> str:
    from vigil.core.elastic import client

    es = client(vigil_env.settings.es)
    pattern = f"test-{vigil_env.uid}-*"
    es.indices.refresh(index=pattern)
    hits = es.search(index=pattern, size=1000, query={"match_all": {}})["hits"]["hits"]
    return json.dumps(hits)


def kafka_dump(settings) -> str:
    """Every record of the test's topics, keys and values, as text."""
    from kafka import TopicPartition

    from vigil.core.kafka import consumer

    client = consumer(settings.kafka, None)
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in settings.kafka.topics.model_dump().values()
            for p in (client.partitions_for_topic(topic) or [])
        ]
        client.assign(partitions)
        client.seek_to_beginning(*partitions)
        ends = client.end_offsets(partitions)
        chunks: list[str] = []
        deadline = time.monotonic() + 30
        while any(client.position(tp) < ends[tp] for tp in partitions) and time.monotonic() < deadline:
            for records in client.poll(timeout_ms=500).values():
                chunks += [
                    (r.key or b"").decode("utf-8", "replace") + (r.value or b"").decode("utf-8", "replace")
                    for r in records
                ]
        return "\n".join(chunks)
    finally:
        client.close()


def test_kafka_dump_reads_what_was_produced(vigil_env):
    """The leak check above would pass on an empty read: prove it reads records."""
    produce(
        vigil_env.settings,
        AdEvent(
            event_type="ad.new",
            ad_key="site:2",
            profile_id="site",
            url="http://site.test/ad/2",
            title="Zq9marker",
        ),
    )
    assert "Zq9marker" in kafka_dump(vigil_env.settings)
