"""The README's layout section names every top-level folder of the repository and every package of
``vigil/``, and nothing that is not there (a newcomer's map must match the tree)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tracked_files() -> list[str]:
    try:
        result = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("git is not available")
    if result.returncode != 0:
        pytest.skip("not a git checkout")
    return result.stdout.splitlines()


def test_the_readme_layout_matches_the_tree():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1].split("```", 2)[1]
    listed = set(re.findall(r"^(\S+)/ ", section, re.MULTILINE))
    files = tracked_files()
    top = {path.split("/")[0] for path in files if "/" in path}
    vigil = {"vigil/" + path.split("/")[1] for path in files if path.startswith("vigil/") and path.count("/") > 1}
    assert listed == (top - {"vigil"}) | vigil
