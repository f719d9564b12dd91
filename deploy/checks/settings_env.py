#!/usr/bin/env python3
"""The VIGIL_* variables the deployments set are valid Vigil settings (vigil/core/config.py).

A typo such as VIGIL_KAFKA_BOOTSTRAPS or a value of the wrong type would otherwise surface
only when the pods start. Each argument is a group of env files that apply together, joined
by commas (base, then overlay); they are loaded into an otherwise empty VIGIL_* environment.

Usage: settings_env.py base.env,overlay.env [...]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def problems(group: list[Path]) -> list[str]:
    from vigil.core.config import ConfigError, Settings, load_settings

    env: dict[str, str] = {}
    for path in group:
        env.update(read_env(path))
    unknown = [
        key
        for key in env
        if key.startswith("VIGIL_")
        and key.removeprefix("VIGIL_").lower().split("_")[0]
        not in {name.split("_")[0] for name in Settings.model_fields}
    ]
    saved = {k: v for k, v in os.environ.items() if k.startswith("VIGIL_")}
    for key in saved:
        del os.environ[key]
    os.environ.update(env)
    os.environ["VIGIL_CONFIG"] = os.devnull  # no vigil.yaml from the working directory
    try:
        load_settings()
        return [f"{key}: no such setting" for key in unknown]
    except ConfigError as exc:
        return [str(exc)]
    finally:
        for key in env:
            os.environ.pop(key, None)
        os.environ.pop("VIGIL_CONFIG", None)
        os.environ.update(saved)


def main(argv: list[str]) -> int:
    failed = False
    for arg in argv:
        group = [Path(p) for p in arg.split(",")]
        found = problems(group)
        for problem in found:
            print(f"{arg}: {problem}")
        if not found:
            print(f"  {' + '.join(map(str, group))}: valid settings")
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
