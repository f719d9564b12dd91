"""The guarded browser: scrapy-playwright's handler on Debian's Chromium, behind the crawl's proxy.

Layers, each of which holds without the others:

* every request Chromium makes goes through ``crawlers.browser_proxy`` (the crawl's SSRF guard
  and DNS pins, or the Tor policy and per-profile SOCKS isolation); Chromium resolves no names
  itself (``--host-resolver-rules``) and proxies loopback too (``<-loopback>``);
* a Playwright route aborts images, fonts and media (unless the profile allows them) and
  non-network schemes before they reach the network;
* WebRTC may only use proxied connections, so no UDP leaves around the proxy;
* Chromium keeps its sandbox and, when the crawler is root, runs as the unprivileged
  ``crawl.browser_user`` with an environment that holds no secrets.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from crawlers.browser_proxy import BrowserProxy, DirectUpstream, TorUpstream
from crawlers.config import vigil_settings
from crawlers.rendering import abort_predicate
from crawlers.ssrf import guard_for
from vigil.core.accounts import system_account

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from vigil.core.config import Settings
    from vigil.core.profiles import SiteProfile

logger = logging.getLogger(__name__)

HANDLER = "crawlers.browser.GuardedPlaywrightHandler"
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-pings",
    # WebRTC may use the proxy only: no direct UDP (STUN) that would reveal or reach addresses.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    # Chromium resolves nothing itself: every name goes to the proxy, which resolves and pins.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    # Loopback is proxied too (Playwright adds this unless told otherwise; say it ourselves).
    "--proxy-bypass-list=<-loopback>",
]
# Run by the crawler (root) in place of Chromium: hands the profile directory Playwright made to
# the browser user, then drops to that user with no capabilities before starting Chromium.
WRAPPER = """#!/bin/sh
# Written by Vigil (crawlers/browser.py). Starts Chromium as $VIGIL_BROWSER_USER.
set -eu
for arg in "$@"; do
  case "$arg" in
    --user-data-dir=*)
      profile="${arg#--user-data-dir=}"
      chown -R "$VIGIL_BROWSER_USER:" "$profile"
      HOME="$profile"
      export HOME
      ;;
  esac
done
exec /usr/bin/setpriv --reuid="$VIGIL_BROWSER_USER" --regid="$VIGIL_BROWSER_USER" --init-groups \\
  --inh-caps=-all --bounding-set=-all --no-new-privs -- "$VIGIL_CHROMIUM" "$@"
"""
BROWSER_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "XDG_RUNTIME_DIR", "FONTCONFIG_PATH")


def playwright_settings(profile: SiteProfile, settings: Settings) -> dict[str, Any]:
    """Scrapy settings for a render_js profile (the handler adds the proxy and the user at run time)."""
    timeout_ms = profile.politeness.timeout * 1000
    args = list(CHROMIUM_ARGS)
    if not settings.crawl.browser_sandbox:
        args.append("--no-sandbox")
    return {
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": str(settings.crawl.chromium_path),
            "headless": True,
            "args": args,
            "chromium_sandbox": settings.crawl.browser_sandbox,
            "timeout": timeout_ms,
        },
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout_ms,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": profile.politeness.concurrency,
        "VIGIL_BROWSER_RESOURCES": list(profile.render_resources),
        "VIGIL_BROWSER_NETWORK": profile.network,
    }


def browser_env(extra: dict[str, str]) -> dict[str, str]:
    """The browser's environment: locale, time zone and path only (no tokens, no passwords)."""
    env = {k: os.environ[k] for k in BROWSER_ENV_KEEP if k in os.environ}
    env.setdefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    env.update(extra)
    return env


def write_wrapper(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / "chromium-as-user"
    if not path.exists() or path.read_text() != WRAPPER:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(WRAPPER)
        tmp.chmod(0o755)
        tmp.replace(path)
    return path


class GuardedPlaywrightHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler whose Chromium can reach the network only through the proxy."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        scrapy_settings = crawler.settings
        config = vigil_settings(scrapy_settings)
        via_tor = scrapy_settings.get("VIGIL_BROWSER_NETWORK") == "tor"
        timeout = scrapy_settings.getfloat("DOWNLOAD_TIMEOUT", 30)
        self.proxy = BrowserProxy(
            self._upstream(crawler, via_tor, timeout),
            idle_timeout=timeout,
            max_response=scrapy_settings.getint("DOWNLOAD_MAXSIZE"),
            on_refused=lambda _reason: self.stats.inc_value("vigil/browser_refused"),
        )
        self.abort_request = abort_predicate(scrapy_settings.getlist("VIGIL_BROWSER_RESOURCES"), via_tor)
        launch = dict(self.config.launch_options)
        launch["proxy"] = {"server": self.proxy.server}
        launch["env"] = browser_env({})
        if launch.get("chromium_sandbox"):
            account = system_account(config.crawl.browser_user)
            if account is not None:
                launch["env"] = browser_env(
                    {"VIGIL_BROWSER_USER": account.pw_name, "VIGIL_CHROMIUM": str(launch["executable_path"])}
                )
                launch["executable_path"] = str(write_wrapper(config.state_dir / "browser"))
        self.config.launch_options = launch

    @staticmethod
    def _upstream(crawler: Crawler, via_tor: bool, timeout: float) -> DirectUpstream | TorUpstream:
        guard = guard_for(crawler)
        if not via_tor:
            return DirectUpstream(guard, timeout)
        from crawlers.tor import isolation_for, profile_of, tor_instance

        instance = tor_instance(crawler)
        isolation = isolation_for(crawler)
        profile = profile_of(crawler)
        return TorUpstream(
            guard, instance.socks_host, instance.socks_port, lambda: isolation.credentials(profile), timeout
        )

    async def _launch(self) -> None:
        await self.proxy.start()
        logger.info("browser traffic goes through the guard proxy at %s", self.proxy.server)
        await super()._launch()

    async def _close(self) -> None:
        try:
            await super()._close()
        finally:
            await self.proxy.close()
            if self.proxy.refused:
                logger.info("browser requests refused by the guard: %s", dict(self.proxy.refused.most_common(20)))
