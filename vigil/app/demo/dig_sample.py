"""Real ads from the DIG sample (ads-sample.json), read at run time and never copied into the repo.

They are old US escort ads with the messiness generated ads lack: leetspeak, numbers hidden in
titles, mis-decoded characters. When the shared data set is absent the demo runs without them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[3]


def data_dir() -> Path:
    """The DIG data set's folder: ``$VIGIL_DIG_DATA``, else ``../shared/data/dig-ads`` beside the
    repository, wherever it was cloned. The one place the demo, tests, eval and bench look for it."""
    return Path(os.environ.get("VIGIL_DIG_DATA") or REPOSITORY.parent / "shared" / "data" / "dig-ads")


DEFAULT_PATH = data_dir() / "ads-sample.json"


@dataclass(frozen=True)
class SampleAd:
    sample_id: str
    title: str
    text: str
    city: str
    posted: datetime
    source_url: str


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 read as cp1252 ("â™¥" -> "♥"), which the sample has; leaves clean text alone."""
    try:
        return text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _posted(value: str | None) -> datetime:
    try:
        return datetime.strptime((value or "")[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return datetime(2013, 11, 3, tzinfo=UTC)


def load(path: Path = DEFAULT_PATH) -> list[SampleAd]:
    """The sample's ads; [] when the file is absent. A malformed file raises ValueError naming it."""
    if not path.is_file():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON list of ads ({exc})") from None
    return [
        SampleAd(
            sample_id=str(row.get("id") or index),
            title=repair_mojibake(row.get("title") or ""),
            text=repair_mojibake(row.get("text") or ""),
            city=(row.get("city") or "").title(),
            posted=_posted(row.get("posttime")),
            source_url=row.get("url") or "",
        )
        for index, row in enumerate(rows, start=1)
        if isinstance(row, dict)
    ]
