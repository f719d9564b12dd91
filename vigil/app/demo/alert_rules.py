"""The demo's alerts.yaml (docs/alerts.md), written into its folder at every run.

Four rules an analyst would start with: every new ad on the watched board, a watchlist with one
phone of a known network, anything enrichment escalates, and high-risk ads. One subscriber
receives them all through Apprise's ``json://`` webhook, on the demo's local receiver.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from vigil.app.demo.arrivals import WATCHED_PHONE

HIGH_RISK = 50
SUBSCRIBER = "analyst-desk"


def rules(profile_ids: list[str], webhook_url: str) -> dict:
    return {
        "rules": [
            {
                "id": "new-ad",
                "description": "a new ad on the watched demo board",
                "when": {"new_ad": True, "profiles": profile_ids},
            },
            {
                "id": "watchlist",
                "description": "a phone of the cross-border rotation network",
                "when": {"entities": {"phone": [WATCHED_PHONE]}},
            },
            {
                "id": "escalate",
                "description": "enrichment escalated the ad for review",
                "when": {"escalate": True},
            },
            {"id": "high-risk", "description": f"risk {HIGH_RISK} or more", "when": {"min_risk": HIGH_RISK}},
        ],
        "subscribers": [
            {
                "id": SUBSCRIBER,
                "urls": [webhook_url],
                "rules": ["new-ad", "watchlist", "escalate", "high-risk"],
                "digest": 0,
                "content": "full",
            }
        ],
    }


def write_rules(path: Path, profile_ids: list[str], webhook_url: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by `vigil demo`; rewritten at every run. Format: docs/alerts.md\n"
    path.write_text(
        header + yaml.safe_dump(rules(profile_ids, webhook_url), sort_keys=False, allow_unicode=True)
    )
    return path
