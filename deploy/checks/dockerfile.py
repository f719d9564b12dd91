#!/usr/bin/env python3
"""Static checks of deploy/Dockerfile, since no Docker engine can build it here.

Every COPY source exists in the build context (the repository root), the entrypoint script is
copied and executable, the base image is the agreed Debian bookworm one, the install goes
through deploy/local/setup.sh (the script `make setup` runs), and the image runs as a non-root
user with a HEALTHCHECK.

Usage: dockerfile.py deploy/Dockerfile [CONTEXT_DIR]
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import sys
from pathlib import Path

BASES = ("python:3.11-slim-bookworm", "debian:bookworm")
SETUP = "deploy/local/setup.sh"
WILDCARD = re.compile(r"[*?\[]")


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    found: list[tuple[str, str]] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, args = current.partition(" ")
        found.append((keyword.upper(), args.strip()))
        current = ""
    return found


def arguments(args: str) -> list[str]:
    if args.startswith("["):
        return json.loads(args)
    return shlex.split(args)


def copy_sources(args: str) -> tuple[list[str], str, dict[str, str]]:
    words = arguments(args)
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    return words[:-1], words[-1], flags


def problems(dockerfile: Path, context: Path) -> list[str]:
    found: list[str] = []
    steps = instructions(dockerfile.read_text(encoding="utf-8"))
    keywords = [k for k, _ in steps]
    froms = [a for k, a in steps if k == "FROM"]
    if not froms or not froms[-1].split()[0].startswith(BASES):
        found.append(f"final FROM {froms[-1] if froms else None!r} is not one of {BASES}")

    copied: dict[str, Path] = {}
    for keyword, args in steps:
        if keyword not in ("COPY", "ADD"):
            continue
        sources, dest, flags = copy_sources(args)
        if "from" in flags:
            continue
        for source in sources:
            if WILDCARD.search(source):
                # BuildKit lets a pattern match nothing; a plain path must exist.
                matches = glob.glob(str(context / source))
                if matches:
                    copied[dest] = Path(matches[0])
                continue
            path = context / source
            if not path.exists():
                found.append(f"{keyword} source {source} does not exist in {context}")
            copied[dest] = path

    runs = " ".join(a for k, a in steps if k == "RUN")
    if f"{SETUP} --runtime" not in runs:
        found.append(f"the image must install with `{SETUP} --runtime` (the script make setup runs)")
    if SETUP not in [str(p.relative_to(context)) for p in copied.values() if p.is_relative_to(context)]:
        found.append(f"{SETUP} is not copied into the image")

    users = [a for k, a in steps if k == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        found.append("the image must end with a non-root USER")
    if "HEALTHCHECK" not in keywords:
        found.append("no HEALTHCHECK")

    entrypoints = [arguments(a) for k, a in steps if k == "ENTRYPOINT"]
    if not entrypoints:
        found.append("no ENTRYPOINT")
    else:
        script = entrypoints[-1][0]
        source = copied.get(script)
        if source is None:
            found.append(f"ENTRYPOINT {script} is not COPYed into the image")
        elif not os.access(source, os.X_OK):
            found.append(f"entrypoint script {source} is not executable")
    return found


def main(argv: list[str]) -> int:
    dockerfile = Path(argv[0])
    context = Path(argv[1]) if len(argv) > 1 else Path(".")
    found = problems(dockerfile, context.resolve())
    for problem in found:
        print(f"{dockerfile}: {problem}")
    if not found:
        print(f"{dockerfile}: COPY sources, entrypoint, base, user and healthcheck are in order")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
