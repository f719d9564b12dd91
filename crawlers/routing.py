"""How a profile's pages travel: clear net or Tor, plain HTTP or a headless browser.

Every routing decision lives here so that the Tor handler can be plugged in without touching the
spider. A Tor profile is never crawled over the clear net. A route's download handlers are merged
into the project's (which switch off Scrapy's file, ftp, s3 and data handlers), never replace them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from crawlers.settings import DOWNLOAD_HANDLERS
from vigil.core.config import Settings, TorInstance
from vigil.core.onion import OnionAddressError, is_onion, validate_onion
from vigil.core.profiles import SiteProfile
from vigil.core.records import Network, RenderMode
from vigil.core.tor.isolation import instance_for

PLAYWRIGHT_HANDLER = "crawlers.browser.GuardedPlaywrightHandler"


class RoutingError(Exception):
    """A profile cannot be crawled the way it asks to be (names the profile and the reason)."""


@dataclass
class Route:
    network: Network
    render_mode: RenderMode
    resolve_locally: bool
    settings: dict[str, Any] = field(default_factory=dict)


def tor_instance(profile_id: str, settings: Settings) -> TorInstance:
    """Profiles are spread over the configured tor instances, each profile always on the same one."""
    return instance_for(settings.tor, profile_id)


def check_onions(profile: SiteProfile) -> None:
    """A .onion URL must be a valid v3 address and belong to a Tor profile (never resolved locally)."""
    for url in [*profile.start_urls, *profile.sitemap_urls]:
        host = urlsplit(url).hostname
        if not is_onion(host):
            continue
        if profile.network != "tor":
            raise RoutingError(f"profile {profile.id}: {url} is an onion address; set network: tor")
        try:
            validate_onion(host or "")
        except OnionAddressError as exc:
            raise RoutingError(f"profile {profile.id}: {exc}") from None


def text_kinds(profile: SiteProfile) -> set[str]:
    """What the profile reads besides HTML (json, xml): its listings' source and its items' details.
    Over Tor, responses of other types are dropped unread."""
    kinds = {profile.source, "json" if profile.html_in else "html"}
    if profile.ads.items is not None and profile.ads.items.detail is not None:
        kinds.add(profile.ads.items.detail.source)
    return kinds - {"html"}


def route(profile: SiteProfile, settings: Settings) -> Route:
    chosen = Route(
        network=profile.network,
        render_mode="playwright" if profile.render_js else "http",
        resolve_locally=profile.network != "tor",
    )
    check_onions(profile)
    if profile.network == "tor":
        if profile.render_js and not settings.tor.allow_js:
            raise RoutingError(
                f"profile {profile.id}: render_js over Tor is refused (set tor.allow_js to override; "
                "see docs/tor.md)"
            )
        from crawlers.tor import tor_settings

        chosen.settings.update(tor_settings(settings, profile.id, profile.politeness.timeout, text_kinds(profile)))
    if profile.render_js:
        chosen.settings["DOWNLOAD_HANDLERS"] = {"http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER}
        chosen.settings.update(_playwright(profile, settings))
    if "DOWNLOAD_HANDLERS" in chosen.settings:
        chosen.settings["DOWNLOAD_HANDLERS"] = {**DOWNLOAD_HANDLERS, **chosen.settings["DOWNLOAD_HANDLERS"]}
    return chosen


def _playwright(profile: SiteProfile, settings: Settings) -> dict[str, Any]:
    from crawlers.browser import playwright_settings

    options = playwright_settings(profile, settings)
    if profile.network == "tor":
        # Every request, robots.txt included, must go through the browser and so through Tor.
        options["VIGIL_RENDER_ALL_REQUESTS"] = True
    return options
