"""Site profiles for the demo board, one per section, written at run time into the demo's folder.

They are ordinary profiles (docs/profiles.md): the demo's processes read them as their
``profiles_dir``, and their ``watch`` key is what makes the scheduler re-crawl every few seconds.
``allow_private_network`` is needed because the board listens on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from vigil.app.demo.board import BoardSection, DemoBoard

WATCH_EVERY = "10s"


def profile(board: DemoBoard, section: BoardSection, every: str = WATCH_EVERY) -> dict:
    ad_path = rf"/{section.slug}/ad/([a-z0-9-]+)$"
    return {
        "id": section.profile_id,
        "name": f"Vigil demo board: {section.name}",
        "network": "clearnet",
        "start_urls": [f"{board.url}{section.slug}/"],
        "allowed_domains": ["127.0.0.1"],
        "country": section.country,
        "language": section.language,
        "follow": [{"css": "a.next"}],
        "ads": {
            "url_regex": ad_path,
            "id_regex": ad_path,
            "fields": {
                "title": {"css": "article h1"},
                "body": {"css": ".description"},
                "location": {"css": "article .location"},
                "posted": {"css": "article time", "attr": "datetime"},
            },
        },
        "render_js": False,
        "allow_private_network": True,
        "limits": {"max_pages": 500, "max_depth": 20, "max_seconds": 120},
        "politeness": {
            "download_delay": 0,
            "concurrency": 8,
            "obey_robots": True,
            "autothrottle": False,
            "timeout": 10,
            "retries": 1,
        },
        "watch": {"every": every, "incremental": True},
    }


def write_profiles(board: DemoBoard, directory: Path, every: str = WATCH_EVERY) -> list[Path]:
    """One ``<profile_id>.yaml`` per board section; other YAML files in ``directory`` are removed."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.yaml"):
        stale.unlink()
    written = []
    for section in board.sections:
        path = directory / f"{section.profile_id}.yaml"
        header = "# Written by `vigil demo` for its board; rewritten at every run.\n"
        path.write_text(
            header + yaml.safe_dump(profile(board, section, every), sort_keys=False, allow_unicode=True)
        )
        written.append(path)
    return written
