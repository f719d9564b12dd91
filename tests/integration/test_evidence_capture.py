"""Evidence capture on the real stack and the real S3 server (SeaweedFS, `vigil stack up --with s3`):
the crawl's WARC files in the store, each published page's capture re-read from S3, warcio's own
checker, `vigil replay`, and screenshots of rendered pages."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixture_site import FixtureSite
from tests.fixture_site.notices import NoticeSite
from tests.integration.test_crawl import board_profile, read_pages, run_json, with_config, write_profile
from tests.integration.test_sources import NOTICES_PROFILE
from vigil.core.warc import iter_records, read_capture

pytestmark = pytest.mark.integration


def test_s3_store_round_trip_on_the_local_server(s3_store, tmp_path):
    s3_store.put_bytes("warc/2026/12/01/a.warc.gz", b"0123456789")
    assert s3_store.exists("warc/2026/12/01/a.warc.gz") and not s3_store.exists("warc/none")
    assert s3_store.read_range("warc/2026/12/01/a.warc.gz", 2, 3) == b"234"
    source = tmp_path / "b"
    source.write_bytes(b"x" * 100_000)
    s3_store.put_file("screenshots/2026/12/01/b.png", source)
    s3_store.download("screenshots/2026/12/01/b.png", tmp_path / "c")
    assert (tmp_path / "c").read_bytes() == source.read_bytes()
    assert [o.name for o in s3_store.list()] == ["screenshots/2026/12/01/b.png", "warc/2026/12/01/a.warc.gz"]
    s3_store.delete("warc/2026/12/01/a.warc.gz")
    assert not s3_store.exists("warc/2026/12/01/a.warc.gz")


def warcio_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", str(path)], capture_output=True, text=True)


def test_crawl_captures_every_page_in_s3_and_replay_republishes_them(vigil_env, s3_store, tmp_path):
    started = datetime.now(UTC) - timedelta(seconds=1)
    with FixtureSite(real_ads=False) as site:
        profile = write_profile(tmp_path, board_profile(site, limits={"max_pages": 30, "max_depth": 2}))
        result, summary = run_json(vigil_env, profile, "--job-id", "job-evidence-1")
    assert result.returncode == 0 and summary["ok"], result.stderr[-3000:]
    published = [page for _key, page in read_pages(vigil_env.settings, summary["published"])]
    assert len(published) == summary["published"] > 5

    names = [o.name for o in s3_store.list("warc/")]
    assert names and all(n.startswith(f"warc/{started:%Y/%m/%d}/fixture-board-") for n in names)
    for page in published:
        capture = page.capture
        assert capture is not None and capture.warc_file in names, page.url
        record = read_capture(s3_store, capture)  # also checks the payload digest
        assert record.target_uri == page.final_url and record.status == page.status
        assert hashlib.sha256(record.decoded_payload()).hexdigest() == page.body_sha256
    metadata = 0
    for name in names:
        local = tmp_path / Path(name).name
        s3_store.download(name, local)
        check = warcio_check(local)
        assert check.returncode == 0, check.stdout
        metadata += sum(1 for r in iter_records(local.open("rb")) if r.type == "metadata")
    assert metadata == len(published)

    replay = vigil_env.run("replay", "--since", f"{started:%Y-%m-%dT%H:%M:%S}", "--profile", "fixture-board")
    assert replay.returncode == 0, replay.stderr[-3000:]
    assert f"replayed {len(published)} pages" in replay.stdout
    both = [page for _key, page in read_pages(vigil_env.settings, 2 * len(published))]
    assert len(both) == 2 * len(published)
    copies: dict[str, list] = {}
    for page in both:
        copies.setdefault(page.record_id, []).append(page)
    assert len(copies) == len(published)
    for first, second in copies.values():
        assert first == second, f"{first.url} replayed differently"


def test_items_reference_the_capture_of_the_page_they_were_cut_from(vigil_env, s3_store, tmp_path):
    with NoticeSite() as site:
        path = tmp_path / "notices.yaml"
        path.write_text(NOTICES_PROFILE.format(url=site.url))
        result, summary = run_json(vigil_env, path)
    assert result.returncode == 0 and summary["ok"], result.stderr[-3000:]
    records = [page for _key, page in read_pages(vigil_env.settings, summary["published"])]
    pages = {p.canonical_url: p for p in records if not p.item_of}
    items = [p for p in records if p.item_of]
    assert items and len(pages) == 3
    for item in items:
        assert item.capture == pages[item.item_of].capture, item.url
    replay = vigil_env.run("replay", "--warc", items[0].capture.warc_file)
    assert replay.returncode == 0, replay.stderr[-3000:]
    copies: dict[str, list] = {}
    for page in (page for _key, page in read_pages(vigil_env.settings, 2 * len(records))):
        copies.setdefault(page.record_id, []).append(page)
    in_file = [p for p in records if p.capture.warc_file == items[0].capture.warc_file]
    assert all(len(copies[p.record_id]) == 2 for p in in_file)
    for item in items:
        if item in in_file:
            assert copies[item.record_id] == [item, item], "an item comes back with the body it was cut with"


def test_a_failing_store_loses_no_crawl_and_keeps_the_files_for_the_next(vigil_env, tmp_path):
    from crawlers.evidence import spool_dir, store_spooled
    from vigil.core.config import load_settings
    from vigil.core.evidence import open_store

    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the store's folder should be")
    with_config(vigil_env, evidence={"store": str(blocked)})
    settings = load_settings(vigil_env.config_path)
    with FixtureSite(real_ads=False) as site:
        profile = write_profile(tmp_path, board_profile(site, limits={"max_pages": 5, "max_depth": 1}))
        result, summary = run_json(vigil_env, profile)
    assert result.returncode == 0 and summary["ok"], result.stderr[-3000:]
    assert summary["published"] > 0 and summary["errors"].get("evidence_store", 0) >= 1
    assert f"evidence store {blocked.as_uri()} refused warc/" in result.stderr
    spool = spool_dir(settings, open_store(settings))
    kept = [p.relative_to(spool).as_posix() for p in spool.rglob("*.warc.gz")]
    assert kept and "kept in" in result.stderr
    blocked.unlink()
    assert store_spooled(settings) == (len(kept), 0)
    assert sorted(o.name for o in open_store(settings).list("warc/")) == sorted(kept)
    pages = [page for _key, page in read_pages(settings, summary["published"])]
    assert {p.capture.warc_file for p in pages} <= set(kept)


@pytest.mark.browser
def test_rendered_pages_have_a_screenshot_beside_their_capture(vigil_env, s3_store, tmp_path):
    with FixtureSite(real_ads=False) as site:
        profile = write_profile(
            tmp_path,
            board_profile(
                site,
                start_urls=[f"{site.url}category/js"],
                follow=[],
                render_js=True,
                wait_for={"css": "a.ad-link", "timeout": 10},
                limits={"max_pages": 3, "max_depth": 1},
            ),
        )
        result, summary = run_json(vigil_env, profile, timeout=240)
    assert result.returncode == 0 and summary["ok"], result.stderr[-3000:]
    pages = [page for _key, page in read_pages(vigil_env.settings, summary["published"])]
    assert pages and all(p.render_mode == "playwright" for p in pages)
    for page in pages:
        capture = page.capture
        assert capture.screenshot.startswith("screenshots/") and capture.screenshot.endswith(".png")
        png = s3_store.read(capture.screenshot)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert hashlib.sha256(png).hexdigest() == capture.screenshot_sha256
        record = read_capture(s3_store, capture)
        assert record.headers.get("WARC-Vigil-Render") == "chromium-dom"
