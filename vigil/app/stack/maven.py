"""Resolve artifacts from Maven Central with ``mvn`` and deploy/local/pom.xml (cached in ~/.m2)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from vigil.app.stack.errors import StackError

POM = Path(__file__).resolve().parents[3] / "deploy" / "local" / "pom.xml"


def mvn(goal: str, *properties: str, what: str, timeout: float = 1800) -> None:
    exe = shutil.which("mvn")
    if not exe:
        raise StackError(f"cannot fetch {what}: Maven (mvn) is not installed (apt-get install maven)")
    if not POM.exists():
        raise StackError(f"cannot fetch {what}: {POM} is missing")
    cmd = [exe, "-q", "-B", "-f", str(POM), goal, *properties]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise StackError(f"cannot fetch {what}: mvn did not finish within {timeout:.0f}s") from None
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "ERROR" in ln] or (
            proc.stdout + proc.stderr
        ).splitlines()[-5:]
        raise StackError(f"cannot fetch {what}: mvn failed: " + " | ".join(lines[:5]))
