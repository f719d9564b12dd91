"""The demo's processes: the scheduler and the three workers, exactly as an operator runs them.

Each runs ``vigil ...`` in its own session with its output in ``<demo dir>/logs/<name>.log``, so
a terminal's Ctrl-C reaches the demo alone and the demo stops them in order. Every process the
demo starts, and every process those start (``vigil crawl``), carries ``VIGIL_DEMO_RUN=<run id>``
in its environment: after stopping, any process still carrying it is killed, so none is left
behind even if a worker died without stopping its crawls.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

RUN_MARKER = "VIGIL_DEMO_RUN"


@dataclass
class Managed:
    name: str
    process: subprocess.Popen
    log_path: Path


def processes_of_run(run_id: str) -> list[int]:
    """PIDs of live processes whose environment holds ``VIGIL_DEMO_RUN=run_id``."""
    marker = f"{RUN_MARKER}={run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def kill_run(run_id: str) -> list[int]:
    """SIGKILL what a demo that was itself killed (so never cleaned up) left running; returns PIDs."""
    killed = []
    for pid in processes_of_run(run_id):
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            pass
    return killed


class Supervisor:
    def __init__(self, command: list[str], env: dict[str, str], log_dir: Path, run_id: str):
        self.command = command
        self.env = {**env, RUN_MARKER: run_id}
        self.log_dir = log_dir
        self.run_id = run_id
        self.managed: list[Managed] = []

    def start(self, name: str, *args: str) -> Managed:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*self.command, *args],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        managed = Managed(name, process, log_path)
        self.managed.append(managed)
        return managed

    def exited(self) -> list[Managed]:
        """Processes that have ended (the demo cannot go on without them)."""
        return [m for m in self.managed if m.process.poll() is not None]

    def tail(self, managed: Managed, chars: int = 1500) -> str:
        try:
            return managed.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> list[str]:
        """SIGTERM every process, SIGKILL what is left after ``timeout``; returns names killed hard."""
        for managed in self.managed:
            if managed.process.poll() is None:
                try:
                    managed.process.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        killed = []
        for managed in self.managed:
            try:
                managed.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                killed.append(managed.name)
                _kill_group(managed.process.pid)
                managed.process.wait()
        killed += [f"pid {pid}" for pid in kill_run(self.run_id)]
        return killed


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
