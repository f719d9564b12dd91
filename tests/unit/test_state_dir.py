"""The state directory and everything Vigil writes in it are its own account's only (umask 077)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

VIGIL = Path(sys.executable).with_name("vigil")


def test_a_fresh_state_directory_is_private(tmp_path):
    home = tmp_path / "fresh" / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env["VIGIL_HOME"] = str(home)
    subprocess.run([str(VIGIL), "stack", "status"], env=env, cwd=tmp_path, capture_output=True, timeout=120)
    created = [home, *home.rglob("*")]
    assert len(created) > 1, "the command wrote nothing in the state directory"
    shared = [f"{oct(stat.S_IMODE(p.stat().st_mode))} {p}" for p in created if p.stat().st_mode & 0o077]
    assert shared == []
