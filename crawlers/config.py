"""Vigil's configuration as seen from inside a Scrapy crawl.

``vigil crawl`` hands its validated Settings object to the crawl as the Scrapy setting
``VIGIL_SETTINGS``; a bare ``scrapy crawl`` loads them the usual way (``VIGIL_CONFIG`` or
``./vigil.yaml``, then ``VIGIL_*`` environment variables).
"""

from __future__ import annotations

from vigil.core.config import Settings, load_settings


def vigil_settings(scrapy_settings) -> Settings:
    given = scrapy_settings.get("VIGIL_SETTINGS")
    if isinstance(given, Settings):
        return given
    return load_settings(scrapy_settings.get("VIGIL_CONFIG"))
