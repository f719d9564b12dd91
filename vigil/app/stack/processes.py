"""PID files, detached start, stop (TERM, wait, KILL), port probes and readiness waits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from vigil.app.stack.errors import StackError


def pid_alive(pid: int | None) -> bool:
    """True while ``pid`` is a live (non-zombie) process."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()[0]
    return state not in ("Z", "X")


def read_pid(path: Path, expect: str | None = None) -> int | None:
    """The PID in ``path`` if that process still lives (and its command line contains ``expect``,
    which guards against a recycled PID), else None."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    if not pid_alive(pid):
        return None
    if expect is not None:
        try:
            cmdline = (
                Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            )
        except OSError:
            return None
        if expect not in cmdline:
            return None
    return pid


def write_pid(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{pid}\n")
    tmp.replace(path)


def start(
    cmd: Sequence[str],
    *,
    log: Path,
    pid_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen:
    """Start ``cmd`` detached (own session, stdin closed), appending its output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(cmd)}\n".encode())
        out.flush()
        try:
            proc = subprocess.Popen(
                list(cmd),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise StackError(f"cannot start {cmd[0]}: {exc}") from None
    write_pid(pid_path, proc.pid)
    return proc


def stop(pid: int, timeout: float = 30.0) -> bool:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL. True if the process is gone."""
    if not pid_alive(pid):
        return True
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    for _ in range(50):
        _reap(pid)
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to exit (after a signal sent elsewhere)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our child (else it would linger as a zombie)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    except OSError:
        pass


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 20) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def wait_until(
    ready: Callable[[], bool],
    *,
    service: str,
    timeout: float,
    log: Path,
    alive: Callable[[], bool] | None = None,
    interval: float = 0.5,
) -> None:
    """Poll ``ready`` until true; on timeout or early death raise a StackError naming the log."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except Exception:  # noqa: BLE001 - a probe that raises just means "not yet"
            pass
        if alive is not None and not alive():
            reason = "exited during start-up"
            break
        if time.monotonic() >= deadline:
            reason = f"not ready after {timeout:.0f}s"
            break
        time.sleep(interval)
    last = tail(log, 15)
    detail = f"\n--- last lines of {log} ---\n{last}" if last else ""
    raise StackError(f"{service} {reason}; see {log}{detail}")
