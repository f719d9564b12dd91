"""Site profiles: the documented keys load; every error names the file, the key and the reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from vigil.core.profiles import ProfileError, find_profile, load_profile, load_profiles, parse_duration

REPO = Path(__file__).resolve().parents[2]

MINIMAL = {
    "id": "board-nl",
    "start_urls": ["http://127.0.0.1:8700/"],
    "ads": {"url_regex": r"/ad/\d+", "id_regex": r"/ad/(\d+)"},
}


def write(directory: Path, data, name: str = "board-nl.yaml") -> Path:
    path = directory / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def docs_example() -> dict:
    """The complete example of docs/profiles.md must itself be a valid profile."""
    text = (REPO / "docs" / "profiles.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# profiles/board-nl.yaml.*?)```", text, re.S)
    assert block, "docs/profiles.md lost its complete example"
    return yaml.safe_load(block.group(1))


def test_documented_example_is_valid(tmp_path, monkeypatch):
    monkeypatch.setenv("BOARD_NL_SESSION", "s3cret")
    profile = load_profile(write(tmp_path, docs_example()))
    assert profile.id == "board-nl" and profile.country == "NL" and profile.language == "nl"
    assert profile.ads.ad_id("http://127.0.0.1:8700/ad/1234") == "1234"
    assert profile.watch.interval.total_seconds() == 1800
    assert profile.resolved_cookies()["session"] == "s3cret"
    assert profile.domains == ["127.0.0.1"]


def test_shipped_profiles_are_valid():
    profiles, errors = load_profiles(REPO / "profiles")
    assert not errors and profiles


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        ({"id": "Board NL"}, "id", "[a-z0-9-]+"),
        ({"network": "i2p"}, "network", "'clearnet' or 'tor'"),
        ({"start_urls": ["ftp://x/"]}, "start_urls", "absolute http(s) URL"),
        ({"start_urls": []}, "(root)", "start_urls or sitemap_urls"),
        ({"country": "XX"}, "country", "ISO 3166-1"),
        ({"follow": [{"css": "a.next", "regex": "x"}]}, "follow[0]", "exactly one of css, xpath, regex"),
        ({"follow": [{"css": "a[["}]}, "follow[0].css", "not a valid CSS selector"),
        ({"follow": [{"xpath": "//a["}]}, "follow[0].xpath", "not a valid XPath"),
        ({"ads": {"url_regex": "(unclosed"}}, "ads.url_regex", "not a valid regular expression"),
        ({"ads": {"url_regex": "x", "fields": {"title": {}}}}, "ads.fields.title", "exactly one of css, xpath"),
        ({"watch": {"every": "often"}}, "watch.every", "duration"),
        ({"watch": {"cron": "61 * * * *"}}, "watch.cron", "crontab"),
        ({"limits": {"max_pages": 0}}, "limits.max_pages", "greater than or equal to 1"),
        ({"politeness": {"delay": 1}}, "politeness.delay", "unknown key"),
        ({"wait_for": {"css": "a"}}, "(root)", "wait_for needs render_js"),
        ({"headers": {"X-Token": {"env": "1BAD"}}}, "headers.X-Token.env", "pattern"),
    ],
)
def test_errors_name_file_key_and_reason(tmp_path, change, key, reason):
    path = write(tmp_path, {**MINIMAL, **change})
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert info.value.file == str(path)
    assert info.value.key == key
    assert reason in info.value.reason
    assert str(info.value).startswith(f"{path}: {key}: ")


def test_file_level_errors(tmp_path):
    with pytest.raises(ProfileError, match="no such file"):
        load_profile(tmp_path / "nope.yaml")
    with pytest.raises(ProfileError, match=r"\(file\): not valid YAML"):
        load_profile(write(tmp_path, "id: [unclosed"))
    with pytest.raises(ProfileError, match="must hold a mapping"):
        load_profile(write(tmp_path, "- a list"))
    with pytest.raises(ProfileError, match="must equal the file name 'other'"):
        load_profile(write(tmp_path, MINIMAL, "other.yaml"))


def test_missing_environment_variable_names_key(tmp_path, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    profile = load_profile(write(tmp_path, {**MINIMAL, "headers": {"Authorization": {"env": "NOT_SET_ANYWHERE"}}}))
    with pytest.raises(ProfileError, match=r"headers\.Authorization: environment variable NOT_SET_ANYWHERE"):
        profile.resolved_headers()


def test_directory_loading_and_lookup(tmp_path):
    write(tmp_path, MINIMAL)
    write(tmp_path, {**MINIMAL, "id": "broken", "country": "XX"}, "broken.yaml")
    profiles, errors = load_profiles(tmp_path)
    assert [p.id for p in profiles] == ["board-nl"]
    assert [e.key for e in errors] == ["country"]
    assert find_profile("board-nl", tmp_path).id == "board-nl"
    assert find_profile(str(tmp_path / "board-nl.yaml"), "elsewhere").id == "board-nl"
    with pytest.raises(ProfileError, match="no profile with id 'missing'"):
        find_profile("missing", tmp_path)


def test_via_tor_means_network_tor(tmp_path):
    assert load_profile(write(tmp_path, {**MINIMAL, "via_tor": True})).network == "tor"


def test_durations():
    assert parse_duration("1h30m").total_seconds() == 5400
    assert parse_duration("2d").days == 2
    with pytest.raises(ValueError):
        parse_duration("0m")


def test_cli_validate(tmp_path):
    from vigil.app.cli import app

    good = write(tmp_path, MINIMAL)
    bad = write(tmp_path, {**MINIMAL, "id": "bad", "country": "XX"}, "bad.yaml")
    runner = CliRunner()
    result = runner.invoke(app, ["profiles", "validate", str(good)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["profiles", "validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: country: 'XX' is not an ISO 3166-1 alpha-2 country code" in result.output.replace("\n", "")


def test_routing_refuses_tor_js_and_plans_playwright(tmp_path):
    from crawlers.routing import RoutingError, route
    from vigil.core.config import Settings

    js = load_profile(write(tmp_path, {**MINIMAL, "render_js": True, "wait_for": {"css": "a.ad"}}))
    planned = route(js, Settings())
    assert planned.render_mode == "playwright" and planned.resolve_locally
    assert planned.settings["DOWNLOAD_HANDLERS"]["http"] == "crawlers.browser.GuardedPlaywrightHandler"
    launch = planned.settings["PLAYWRIGHT_LAUNCH_OPTIONS"]
    assert "--no-sandbox" not in launch["args"] and launch["chromium_sandbox"] is True
    assert "--force-webrtc-ip-handling-policy=disable_non_proxied_udp" in launch["args"]
    assert planned.settings["VIGIL_BROWSER_RESOURCES"] == []
    unsandboxed = route(js, Settings(crawl={"browser_sandbox": False})).settings["PLAYWRIGHT_LAUNCH_OPTIONS"]
    assert "--no-sandbox" in unsandboxed["args"] and unsandboxed["chromium_sandbox"] is False
    tor_js = load_profile(write(tmp_path, {**MINIMAL, "network": "tor", "render_js": True}))
    with pytest.raises(RoutingError, match="render_js over Tor is refused"):
        route(tor_js, Settings())


def test_a_route_merges_its_download_handlers_into_the_projects(tmp_path):
    """Tor and browser routes replace the http(s) handlers only: Scrapy's file, ftp, s3 and data
    handlers stay switched off (a replaced dict would bring them back)."""
    from crawlers.routing import route
    from vigil.core.config import Settings

    off = {"file": None, "ftp": None, "s3": None, "data": None}
    for extra, handler in (
        ({"network": "tor"}, "crawlers.tor.TorDownloadHandler"),
        ({"render_js": True}, "crawlers.browser.GuardedPlaywrightHandler"),
    ):
        profile = load_profile(write(tmp_path, {**MINIMAL, **extra}))
        handlers = route(profile, Settings()).settings["DOWNLOAD_HANDLERS"]
        assert handlers == {**off, "http": handler, "https": handler}, extra


def test_crawl_jobs_may_only_name_profiles_inside_the_directory(tmp_path):
    from vigil.core.profiles import job_profile

    profiles = tmp_path / "profiles"
    (profiles / "sub").mkdir(parents=True)
    inside = write(profiles, MINIMAL)
    nested = write(profiles / "sub", {**MINIMAL, "id": "nested"}, name="nested.yaml")
    outside = write(tmp_path, {**MINIMAL, "id": "outside"}, name="outside.yaml")
    (profiles / "link.yaml").symlink_to(outside)
    assert job_profile("board-nl", None, profiles) == inside.resolve()
    assert job_profile("nested", "sub/nested.yaml", profiles) == nested.resolve()
    assert job_profile("nested", str(nested), profiles) == nested.resolve()
    for ref in (str(outside), "../outside.yaml", "link.yaml", "/etc/passwd", "sub/../../outside.yaml"):
        with pytest.raises(ProfileError, match="inside the profiles directory"):
            job_profile("outside", ref, profiles)
    for bad_id in ("../outside", "/etc/passwd", "Board", ""):
        with pytest.raises(ProfileError, match="not a profile id"):
            job_profile(bad_id, None, profiles)
    with pytest.raises(ProfileError, match="no profile with id 'absent'"):
        job_profile("absent", None, profiles)
