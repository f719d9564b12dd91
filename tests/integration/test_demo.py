"""`vigil demo` end to end on the real stack, with the test's own topics and aliases (vigil_env).

The demo runs as a user would run it, in a subprocess: board, scheduler and workers, a baseline,
new ads posted, their alerts in the inbox. It must be re-runnable, must stop cleanly on Ctrl-C, and
must never leave a process behind: every process it starts inherits the test's VIGIL_CONFIG, so
any survivor is found in /proc.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import vigil_executable
from tests.helpers import free_port, wait_for
from vigil.app.demo.arrivals import ARRIVALS

pytestmark = pytest.mark.integration

RUN_TIMEOUT = 600


def survivors(config_path: Path) -> list[str]:
    """Live processes (other than zombies) started with this test's configuration."""
    marker = f"VIGIL_CONFIG={config_path}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{entry.name}: {command}")
        except OSError:
            continue
    return found


def assert_no_survivors(config_path: Path) -> None:
    assert wait_for(lambda: not survivors(config_path), timeout=10), survivors(config_path)


def demo(vigil_env, *args: str, timeout: float = RUN_TIMEOUT) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = subprocess.run(
        [vigil_executable(), "demo", *args],
        env=vigil_env.env,
        cwd=vigil_env.cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result, time.monotonic() - started


def explain(result: subprocess.CompletedProcess, demo_dir: Path) -> str:
    logs = "".join(
        f"\n--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}"
        for log in sorted((demo_dir / "logs").glob("*.log"))
    )
    return f"exit {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-4000:]}{logs}"


def posted_alerts(inbox: Path, port: int) -> dict[str, set[str]]:
    """Posted ad URL -> the rules that alerted on it, from the inbox file."""
    found: dict[str, set[str]] = {}
    for line in inbox.read_text(encoding="utf-8").splitlines():
        alert = json.loads(line)
        if alert["url"].startswith(f"http://127.0.0.1:{port}/") and "-new" in alert["url"]:
            found.setdefault(alert["url"], set()).add(alert["rule_id"])
    return found


def expected_alerts(port: int) -> dict[str, set[str]]:
    return {
        f"http://127.0.0.1:{port}/{a.section}/ad/{a.section}-new{n:03d}": set(a.rules)
        for n, a in enumerate(ARRIVALS, start=1)
    }


def assert_alerted(demo_dir: Path, port: int, result: subprocess.CompletedProcess) -> None:
    inbox = demo_dir / "inbox.jsonl"
    assert inbox.is_file(), explain(result, demo_dir)
    got = posted_alerts(inbox, port)
    for url, rules in expected_alerts(port).items():
        assert rules <= got.get(url, set()), (url, got, explain(result, demo_dir))
    assert "Explore further" in result.stdout and "entity" in result.stdout, result.stdout[-3000:]


def test_demo_once_alerts_on_new_ads_and_runs_again(vigil_env, tmp_path):
    demo_dir = tmp_path / "demo"

    port = free_port()
    first, first_seconds = demo(vigil_env, "--once", "--port", str(port), "--dir", str(demo_dir))
    assert first.returncode == 0, explain(first, demo_dir)
    assert_alerted(demo_dir, port, first)
    assert_no_survivors(vigil_env.config_path)

    port = free_port()
    second, second_seconds = demo(vigil_env, "--once", "--port", str(port), "--dir", str(demo_dir))
    assert second.returncode == 0, explain(second, demo_dir)
    assert "forgot the previous demo run" in second.stdout, second.stdout[-3000:]
    assert_alerted(demo_dir, port, second)
    assert_no_survivors(vigil_env.config_path)
    print(f"vigil demo --once: first run {first_seconds:.0f} s, second run {second_seconds:.0f} s")


def test_demo_stops_everything_on_ctrl_c(vigil_env, tmp_path):
    demo_dir = tmp_path / "demo"
    port = free_port()
    output = tmp_path / "demo.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [vigil_executable(), "demo", "--port", str(port), "--dir", str(demo_dir)],
            env=vigil_env.env,
            cwd=vigil_env.cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        started = wait_for(lambda: b"waiting for the baseline" in output.read_bytes(), timeout=120)
        assert started, output.read_text(errors="replace")
        time.sleep(3)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=90) == 130, output.read_text(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert_no_survivors(vigil_env.config_path)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the board still listens"
    assert "everything it started has been stopped" in output.read_text(errors="replace")
