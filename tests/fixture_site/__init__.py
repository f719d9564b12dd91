"""The fixture classifieds board (see server.py) and its ads (ads.yaml)."""

from tests.fixture_site.server import FixtureSite, load_ads, load_real_ads

__all__ = ["FixtureSite", "load_ads", "load_real_ads"]
