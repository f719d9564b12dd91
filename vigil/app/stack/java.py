"""Find a JDK of at least a given major version (Kafka: 17, Elasticsearch 9: 21)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from vigil.app.stack.errors import StackError

JVM_DIR = Path("/usr/lib/jvm")


def java_version(home: Path) -> int | None:
    """Major version of the JDK/JRE at ``home`` (from its ``release`` file or ``java -version``)."""
    release = home / "release"
    text = ""
    try:
        text = release.read_text(errors="replace")
    except OSError:
        pass
    match = re.search(r'^JAVA_VERSION="([^"]+)"', text, re.M)
    if not match:
        java = home / "bin" / "java"
        if not os.access(java, os.X_OK):
            return None
        try:
            out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=20).stderr
        except (OSError, subprocess.SubprocessError):
            return None
        match = re.search(r'version "([^"]+)"', out)
        if not match:
            return None
    version = match.group(1)
    parts = version.split(".")
    try:
        major = int(parts[0])
        if major == 1 and len(parts) > 1:  # 1.8.0_x
            major = int(parts[1])
    except ValueError:
        return None
    return major


def _home_of_java_on_path() -> Path | None:
    java = shutil.which("java")
    if not java:
        return None
    return Path(java).resolve().parent.parent


def candidates(explicit: Path | None, env_vars: list[str]) -> list[tuple[str, Path]]:
    """Where to look, in order: the setting, the environment variables, PATH, /usr/lib/jvm."""
    found: list[tuple[str, Path]] = []
    if explicit:
        found.append(("setting", Path(explicit)))
    for var in env_vars:
        if os.environ.get(var):
            found.append((var, Path(os.environ[var])))
    on_path = _home_of_java_on_path()
    if on_path:
        found.append(("PATH", on_path))
    if JVM_DIR.is_dir():
        scanned = [p for p in JVM_DIR.iterdir() if p.is_dir() and not p.is_symlink()]
        scanned.sort(key=lambda p: java_version(p) or 0, reverse=True)
        found.extend((str(JVM_DIR), p) for p in scanned)
    return found


def find_java_home(
    minimum: int,
    *,
    purpose: str,
    explicit: Path | None = None,
    env_vars: list[str] | None = None,
    setting_name: str = "stack.java_home",
) -> Path:
    """The first JDK home with ``bin/java`` of at least ``minimum``; else a StackError saying what to do.

    An explicit setting that is too old or missing is an error (it is never silently skipped).
    """
    env_vars = env_vars or []
    seen: list[str] = []
    for source, home in candidates(explicit, env_vars):
        version = java_version(home) if (home / "bin" / "java").exists() else None
        if version is not None and version >= minimum:
            return home
        seen.append(f"{home} ({source}: {'Java ' + str(version) if version else 'no bin/java'})")
        if source in ("setting", *env_vars):
            raise StackError(
                f"{purpose} needs Java >= {minimum}, but {home} from "
                f"{'the setting ' + setting_name if source == 'setting' else source} is "
                f"{'Java ' + str(version) if version else 'not a JDK (no bin/java)'}"
            )
    where = "; ".join(seen) if seen else "no JDK found at all"
    hint = " or ".join([f"set {setting_name} (VIGIL_{setting_name.upper().replace('.', '_')})", *env_vars])
    raise StackError(
        f"{purpose} needs a JDK >= {minimum}: none found (looked at: {where}). "
        f"Install one (e.g. apt-get install openjdk-{max(minimum, 17)}-jdk-headless, or Temurin {minimum}+ "
        f"under {JVM_DIR}) or {hint}"
    )
