"""The real local stack: Kafka, Elasticsearch, tor, Chromium, and the `vigil stack` lifecycle."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, vigil_executable
from tests.helpers import free_port, wait_for
from vigil.app.stack import processes


def _uid() -> str:
    return uuid.uuid4().hex[:10]


# -- Kafka -------------------------------------------------------------------------------------


def _create_topic(settings, name: str, partitions: int = 1) -> None:
    from kafka.admin import NewTopic

    from vigil.core.kafka import admin

    client = admin(settings.kafka)
    try:
        client.create_topics([NewTopic(name=name, num_partitions=partitions, replication_factor=1)])
    finally:
        client.close()


def _delete_topic(settings, name: str) -> None:
    from vigil.core.kafka import admin

    client = admin(settings.kafka)
    try:
        client.delete_topics([name])
    except Exception:  # noqa: BLE001
        pass
    finally:
        client.close()


@pytest.mark.integration
def test_kafka_produce_and_consume_with_kafka_python(stack):
    from vigil.core.kafka import consumer, producer

    topic = f"test.{_uid()}.roundtrip"
    _create_topic(stack, topic, partitions=2)
    try:
        prod = producer(stack.kafka)
        sent = [f"message-{i}".encode() for i in range(5)]
        for i, value in enumerate(sent):
            prod.send(topic, key=str(i % 2).encode(), value=value)
        prod.flush(timeout=30)
        prod.close()

        # A message larger than Kafka's 1 MiB default must pass (message.max.bytes is raised).
        big = b"x" * (2 * 1024 * 1024)
        prod = producer(stack.kafka)
        prod.send(topic, value=big).get(timeout=30)
        prod.close()

        cons = consumer(stack.kafka, f"g-{_uid()}", topic, consumer_timeout_ms=20000)
        received = []
        for record in cons:
            received.append(record.value)
            if len(received) == len(sent) + 1:
                break
        cons.commit()
        cons.close()
        assert sorted(v for v in received if v != big) == sorted(sent)
        assert big in received
    finally:
        _delete_topic(stack, topic)


@pytest.mark.integration
def test_kafka_does_not_auto_create_topics(stack):
    """Topics come from `vigil init`; a typo'd topic name fails instead of appearing silently."""
    from kafka.errors import KafkaTimeoutError

    from vigil.core.kafka import admin, producer

    if stack.kafka_is_external:
        pytest.skip("broker settings of an external cluster are not ours")
    topic = f"test.{_uid()}.never-created"
    prod = producer(stack.kafka, max_block_ms=3000)
    try:
        with pytest.raises(KafkaTimeoutError):
            prod.send(topic, value=b"lost").get(timeout=5)
    finally:
        prod.close(timeout=5)
    client = admin(stack.kafka)
    try:
        assert topic not in client.list_topics()
    finally:
        client.close()


@pytest.mark.integration
def test_kafka_console_tools_from_fetched_jars(stack):
    from vigil.app.stack.kafka import Kafka

    kafka = Kafka(stack)
    java = str(kafka.java())
    cp = kafka.classpath()
    bootstrap = stack.kafka.bootstrap
    topic = f"test.{_uid()}.console"

    def tool(*args: str, input: str | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
        return subprocess.run(
            [java, "-Xmx256m", "-cp", cp, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    created = tool(
        "org.apache.kafka.tools.TopicCommand",
        "--bootstrap-server",
        bootstrap,
        "--create",
        "--topic",
        topic,
        "--partitions",
        "1",
        "--replication-factor",
        "1",
    )
    assert created.returncode == 0, created.stderr
    try:
        lines = ["alpha", "beta", "gamma"]
        produced = tool(
            "org.apache.kafka.tools.ConsoleProducer",
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            input="\n".join(lines) + "\n",
        )
        assert produced.returncode == 0, produced.stderr
        consumed = tool(
            "org.apache.kafka.tools.consumer.ConsoleConsumer",
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            "--from-beginning",
            "--max-messages",
            str(len(lines)),
            "--timeout-ms",
            "30000",
        )
        assert consumed.returncode == 0, consumed.stderr
        assert consumed.stdout.split() == lines
    finally:
        _delete_topic(stack, topic)


# -- Elasticsearch -----------------------------------------------------------------------------


@pytest.mark.integration
def test_elasticsearch_index_and_search(stack):
    from vigil.core.elastic import client

    es = client(stack.es)
    index = f"test-{_uid()}-stack"
    try:
        health = es.cluster.health(wait_for_status="yellow", timeout="30s")
        assert health["status"] in ("yellow", "green")
        es.indices.create(
            index=index,
            settings={"number_of_shards": 1, "number_of_replicas": 0},
            mappings={"properties": {"title": {"type": "text"}, "phone": {"type": "keyword"}}},
        )
        es.index(
            index=index,
            id="ad-1",
            document={"title": "new girl in town", "phone": "+15551234567"},
            refresh="wait_for",
        )
        es.index(
            index=index,
            id="ad-2",
            document={"title": "used bicycle", "phone": "+15550000000"},
            refresh="wait_for",
        )
        found = es.search(index=index, query={"match": {"title": "girl"}})
        assert [hit["_id"] for hit in found["hits"]["hits"]] == ["ad-1"]
        exact = es.search(index=index, query={"term": {"phone": "+15550000000"}})
        assert exact["hits"]["total"]["value"] == 1
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
        es.close()


@pytest.mark.integration
def test_status_reports_both_services(stack):
    from vigil.app.stack import status

    report = status(stack, with_tor=False)
    for name in ("kafka", "elasticsearch"):
        assert report[name]["healthy"], report
        assert report[name]["address"]
        if report[name]["pid"] not in ("external", None):  # None: run from another state directory
            assert processes.pid_alive(report[name]["pid"])
            assert Path(report[name]["log"]).exists()
    assert report["elasticsearch"]["version"].startswith("9.")


# -- vigil init / vigil stack status through the CLI -------------------------------------------


@pytest.mark.integration
def test_vigil_init_is_idempotent(vigil_env):
    first = vigil_env.run("init")
    assert first.returncode == 0, first.stderr
    second = vigil_env.run("init")
    assert second.returncode == 0, second.stderr
    assert "created" not in second.stdout
    for topic in vigil_env.settings.kafka.topics.model_dump().values():
        assert topic in second.stdout and topic.startswith(f"test.{vigil_env.uid}.")
    for alias in vigil_env.settings.es.indices.model_dump().values():
        assert alias in second.stdout
        assert alias.startswith(f"test-{vigil_env.uid}-")


@pytest.mark.integration
def test_vigil_stack_status_json(vigil_env):
    proc = vigil_env.run("stack", "status", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert set(report) == {"kafka", "elasticsearch", "tor", "postgres", "s3"}
    assert report["kafka"]["healthy"] and report["elasticsearch"]["healthy"]


@pytest.mark.integration
def test_external_services_start_nothing(stack, tmp_path: Path):
    """With VIGIL_KAFKA_BOOTSTRAP and VIGIL_ES_URL set, `up` starts nothing and reports them."""
    env = dict(os.environ)
    env.pop("VIGIL_CONFIG", None)
    env.update(
        VIGIL_HOME=str(tmp_path / "home"),
        VIGIL_KAFKA_BOOTSTRAP=stack.kafka.bootstrap,
        VIGIL_ES_URL=stack.es.url,
    )
    if stack.es.username:  # a secured stack: an external cluster needs its credentials
        env.update(VIGIL_ES_USERNAME=stack.es.username, VIGIL_ES_PASSWORD=stack.es.password.get_secret_value())
    up = subprocess.run(
        [vigil_executable(), "stack", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    assert up.returncode == 0, up.stderr
    assert "external" in up.stdout
    assert not (tmp_path / "home" / "run" / "kafka.pid").exists()
    status = subprocess.run(
        [vigil_executable(), "stack", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    report = json.loads(status.stdout)
    assert report["kafka"]["pid"] == "external" and report["kafka"]["healthy"]
    assert report["elasticsearch"]["pid"] == "external" and report["elasticsearch"]["healthy"]


def test_missing_jdk_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from vigil.app.stack import java
    from vigil.app.stack.errors import StackError

    monkeypatch.setattr(java, "JVM_DIR", tmp_path)
    monkeypatch.delenv("ES_JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StackError, match=r"Elasticsearch needs a JDK >= 21"):
        java.find_java_home(
            21, purpose="Elasticsearch", env_vars=["ES_JAVA_HOME"], setting_name="stack.es_java_home"
        )
    monkeypatch.setenv("ES_JAVA_HOME", str(tmp_path / "nope"))
    with pytest.raises(StackError, match=r"ES_JAVA_HOME is not a JDK"):
        java.find_java_home(21, purpose="Elasticsearch", env_vars=["ES_JAVA_HOME"])


# -- tor through stem --------------------------------------------------------------------------


@pytest.mark.tor
def test_stem_launches_tor_and_reads_control_port(tmp_path: Path):
    if not shutil.which("tor"):
        pytest.skip("tor is not installed")
    import stem.process
    from stem.control import Controller

    socks, control = free_port(), free_port()
    data = tmp_path / "tor-data"
    tor = stem.process.launch_tor_with_config(
        config={
            "SocksPort": str(socks),
            "ControlPort": f"127.0.0.1:{control}",
            "CookieAuthentication": "1",
            "DataDirectory": str(data),
            "DisableNetwork": "1",
            "Log": "notice stdout",
        },
        completion_percent=0,
        take_ownership=True,
        timeout=60,
    )
    try:
        with Controller.from_port(address="127.0.0.1", port=control) as ctl:
            ctl.authenticate()
            version = ctl.get_version()
            phase = ctl.get_info("status/bootstrap-phase")
            assert ctl.get_conf("DisableNetwork") == "1"
        assert version.major == 0 and version.minor >= 4
        assert "PROGRESS=" in phase and "BOOTSTRAP" in phase
        # With the network disabled tor does not open its SOCKS port (see README, Stack notes).
        assert not processes.port_open("127.0.0.1", socks)
    finally:
        tor.kill()
        tor.wait(timeout=30)


# -- the stack lifecycle on a separate instance ------------------------------------------------


def _private_home(shared) -> Path:
    """A separate VIGIL_HOME (world-traversable, for the ES user) sharing the fetched downloads."""
    from vigil.app.stack.elasticsearch import es_root

    home = Path(tempfile.mkdtemp(prefix="vigil-stack-test-"))
    home.chmod(0o755)
    kafka_ver = shared.stack.kafka_version
    es_ver = shared.stack.elasticsearch_version
    (home / "kafka").mkdir()
    (home / "kafka" / kafka_ver).symlink_to(shared.state_dir / "kafka" / kafka_ver, target_is_directory=True)
    (home / "elasticsearch").mkdir()
    # ES's distribution lives outside a private (0700) state directory: es_root says where.
    (home / "elasticsearch" / es_ver).symlink_to(es_root(shared) / es_ver, target_is_directory=True)
    return home


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline and processes.pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


@pytest.mark.integration
@pytest.mark.timeout(900)
def test_stack_up_is_idempotent_and_down_leaves_no_process(stack):
    from vigil.app.stack.kafka import Kafka

    if not Kafka(stack).fetched():
        pytest.skip("this test reuses the shared stack's fetched Kafka and Elasticsearch")
    if not shutil.which("tor"):
        pytest.skip("tor is not installed")
    home = _private_home(stack)
    ports = {name: free_port() for name in ("kafka", "controller", "es", "transport", "socks", "control")}
    config = home / "vigil.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "home": str(home),
                "kafka": {"bootstrap": f"127.0.0.1:{ports['kafka']}", "controller_port": ports["controller"]},
                "es": {"url": f"http://127.0.0.1:{ports['es']}"},
                "tor": {"socks_port": ports["socks"], "control_port": ports["control"]},
                "stack": {"es_transport_port": ports["transport"], "es_heap": "256m"},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(VIGIL_CONFIG=str(config), VIGIL_HOME=str(home))

    def vigil(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
        return subprocess.run(
            [vigil_executable(), *args],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    try:
        started = time.monotonic()
        first = vigil("stack", "up", "--with", "tor")
        first_seconds = time.monotonic() - started
        assert first.returncode == 0, first.stdout + first.stderr
        assert "started" in first.stdout

        started = time.monotonic()
        second = vigil("stack", "up", "--with", "tor")
        second_seconds = time.monotonic() - started
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout and "started" not in second.stdout
        print(f"first up {first_seconds:.1f}s, second up {second_seconds:.1f}s")

        report = json.loads(vigil("stack", "status", "--json").stdout)
        assert all(report[s]["healthy"] for s in ("kafka", "elasticsearch", "tor")), report
        pids = [report[s]["pid"] for s in ("kafka", "elasticsearch", "tor")]
        assert all(isinstance(p, int) and processes.pid_alive(p) for p in pids), report
        assert report["tor"]["version"].startswith("0.4")
        # The shared stack is not this one.
        assert report["kafka"]["pid"] != Kafka(stack).pid()

        down = vigil("stack", "down", timeout=200)
        assert down.returncode == 0, down.stderr
        for pid in pids:
            assert not processes.pid_alive(pid), f"pid {pid} survived `vigil stack down`"
        assert wait_for(lambda: not _processes_mentioning(str(home)), timeout=10), _processes_mentioning(
            str(home)
        )
        for port in ports.values():
            assert not processes.port_open("127.0.0.1", port), f"port {port} still open after down"
        assert not list((home / "run").glob("*.pid"))
        # Data is kept: Kafka's storage stays formatted.
        assert (home / "kafka" / "data" / "meta.properties").exists()
        again = json.loads(vigil("stack", "status", "--json").stdout)
        assert not again["kafka"]["healthy"] and again["kafka"]["pid"] is None
    finally:
        vigil("stack", "down", timeout=200)
        for pid in _processes_mentioning(str(home)):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)


# -- Chromium through scrapy-playwright --------------------------------------------------------

JS_PAGE = b"""<!doctype html><html><head><title>js ad</title></head><body>
<div id="ad"></div>
<script>
  const ad = document.getElementById('ad');
  const title = document.createElement('h1'); title.className = 'title';
  title.textContent = 'Rendered by ' + 'JavaScript';
  const phone = document.createElement('span'); phone.className = 'phone';
  phone.textContent = ['555', '0100'].join('-');
  ad.appendChild(title); ad.appendChild(phone);
</script></body></html>"""


class _JsHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(JS_PAGE)))
        self.end_headers()
        self.wfile.write(JS_PAGE)

    def log_message(self, *args):
        pass


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_scrapy_playwright_renders_javascript_in_debian_chromium(tmp_path: Path):
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(chromium).exists():
        pytest.skip(f"Chromium not found at {chromium}")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/ad"
        out = tmp_path / "items.json"
        env = dict(os.environ, CHROMIUM_PATH=chromium)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "runspider",
                str(REPO_ROOT / "tests" / "js_spider.py"),
                "-a",
                f"url={url}",
                "-O",
                str(out),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        items = json.loads(out.read_text())
        assert items == [{"url": url, "rendered": "Rendered by JavaScript", "phone": "555-0100"}], (
            proc.stderr[-3000:]
        )
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_postgres_initialises_starts_and_stops_in_its_own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh state directory: initdb as the unprivileged account, the vigil database, a fast stop."""
    from vigil.app.stack import StackError
    from vigil.app.stack.postgres import Postgres, server_bin
    from vigil.core.config import Settings

    try:
        server_bin()
    except StackError as exc:
        pytest.skip(str(exc))
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VIGIL_STACK_POSTGRES_PORT", str(free_port()))
    service = Postgres(Settings())
    try:
        service.start()
        service.wait_ready(120)
        assert service.healthy() and service.initialised()
        pid = service.pid()
        assert pid is not None
        if os.geteuid() == 0:
            owner = Path(f"/proc/{pid}").stat().st_uid
            assert owner == service.run_as().pw_uid != 0, "PostgreSQL must not run as root"
        from sqlalchemy import text

        from scheduler.watches import engine_for

        engine = engine_for(service.url.replace("postgresql+psycopg://", "postgresql://"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar_one() == "vigil"
        engine.dispose()
        assert service.stop() and not processes.pid_alive(pid) and service.pid() is None
        assert not service.healthy()
    finally:
        service.stop()
        if not str(service.root).startswith(str(tmp_path)):
            shutil.rmtree(service.root.parent, ignore_errors=True)
