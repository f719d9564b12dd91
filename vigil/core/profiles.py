"""Site profiles: one YAML file per site, telling the generic spider where to go and what an ad is.

The scheduler, the CLI and the crawlers all read profiles through this module, so a profile is
validated the same way everywhere. Every failure is a ``ProfileError`` naming the file, the key
and the reason. The keys are documented, with a complete example, in docs/profiles.md.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

PROFILE_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
PROFILE_SUFFIXES = (".yaml", ".yml")


class ProfileError(Exception):
    """An unusable profile: ``file: key: reason``."""

    def __init__(self, file: str | Path, key: str, reason: str):
        self.file, self.key, self.reason = str(file), key, reason
        super().__init__(f"{self.file}: {key}: {reason}")


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None
    return pattern


def _css_compiles(css: str) -> str:
    from cssselect import GenericTranslator, SelectorError

    try:
        GenericTranslator().css_to_xpath(css)
    except SelectorError as exc:
        raise ValueError(f"not a valid CSS selector ({exc})") from None
    return css


def _xpath_compiles(xpath: str) -> str:
    from lxml import etree

    try:
        etree.XPath(xpath)
    except etree.XPathSyntaxError as exc:
        raise ValueError(f"not a valid XPath expression ({exc})") from None
    return xpath


class Selector(Part):
    """Exactly one of css, xpath; ``attr`` picks an attribute instead of the text."""

    css: str | None = None
    xpath: str | None = None
    attr: str | None = None

    @field_validator("css")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        return value if value is None else _css_compiles(value)

    @field_validator("xpath")
    @classmethod
    def _xpath(cls, value: str | None) -> str | None:
        return value if value is None else _xpath_compiles(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> Selector:
        if (self.css is None) == (self.xpath is None):
            raise ValueError("give exactly one of css, xpath")
        return self


class FollowRule(Part):
    """Links to follow as listing pages: css/xpath select link elements, regex matches absolute URLs."""

    css: str | None = None
    xpath: str | None = None
    regex: str | None = None

    _css = field_validator("css")(classmethod(lambda cls, v: v if v is None else _css_compiles(v)))
    _xpath = field_validator("xpath")(classmethod(lambda cls, v: v if v is None else _xpath_compiles(v)))
    _regex = field_validator("regex")(classmethod(lambda cls, v: v if v is None else _compiles(v)))

    @model_validator(mode="after")
    def _exactly_one(self) -> FollowRule:
        if sum(v is not None for v in (self.css, self.xpath, self.regex)) != 1:
            raise ValueError("give exactly one of css, xpath, regex")
        return self


def _jmespath_compiles(expression: str) -> str:
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(expression)
    except JMESPathError as exc:
        raise ValueError(f"not a valid JMESPath expression ({str(exc).splitlines()[0]})") from None
    return expression


def _one_group(value: str | None) -> str | None:
    if value is not None and re.compile(_compiles(value)).groups > 1:
        raise ValueError("use at most one capturing group")
    return value


class ItemValue(Part):
    """A value read from one item: css/xpath relative to an HTML item (none: the item element
    itself) with ``attr``, or ``path`` (JMESPath) into a JSON item; ``regex`` keeps its first group."""

    css: str | None = None
    xpath: str | None = None
    path: str | None = None
    attr: str | None = None
    regex: str | None = None

    _css = field_validator("css")(classmethod(lambda cls, v: v if v is None else _css_compiles(v)))
    _xpath = field_validator("xpath")(classmethod(lambda cls, v: v if v is None else _xpath_compiles(v)))
    _path = field_validator("path")(classmethod(lambda cls, v: v if v is None else _jmespath_compiles(v)))
    _regex = field_validator("regex")(classmethod(lambda cls, v: _one_group(v)))

    @model_validator(mode="after")
    def _at_most_one(self) -> ItemValue:
        if sum(v is not None for v in (self.css, self.xpath, self.path)) > 1:
            raise ValueError("give at most one of css, xpath, path")
        return self


ItemValueOrText = Annotated[ItemValue | str, Field(union_mode="left_to_right")]


class Detail(Part):
    """A second request per item that holds its content (a modal filled from JSON, a detail API)."""

    url: str = Field(description="URL template: {id} is the item id; relative to the page")
    source: Literal["html", "json"] = "json"
    fields: dict[str, ItemValueOrText] = {}

    @field_validator("url")
    @classmethod
    def _template(cls, value: str) -> str:
        if "{id}" not in value:
            raise ValueError("the URL template must contain {id}")
        return value


class ItemRule(Part):
    """Many ads inside one page or response (posts of a channel or thread, entries of a JSON list).

    Plain strings are shorthand: CSS for HTML sources, JMESPath for JSON sources.
    """

    css: str | None = None
    xpath: str | None = None
    path: str | None = Field(None, description="JSON: JMESPath to the list of items")
    siblings: bool = Field(
        False, description="HTML: css/xpath select where each item starts; the item runs over the following siblings"
    )
    until: str | None = Field(None, description="with siblings: CSS of siblings that end an item (and are not in it)")
    id: ItemValueOrText
    permalink: ItemValueOrText | None = None
    fields: dict[str, ItemValueOrText] = {}
    detail: Detail | None = None

    _css = field_validator("css", "until")(classmethod(lambda cls, v: v if v is None else _css_compiles(v)))
    _xpath = field_validator("xpath")(classmethod(lambda cls, v: v if v is None else _xpath_compiles(v)))
    _path = field_validator("path")(classmethod(lambda cls, v: v if v is None else _jmespath_compiles(v)))

    @model_validator(mode="after")
    def _exactly_one(self) -> ItemRule:
        if sum(v is not None for v in (self.css, self.xpath, self.path)) != 1:
            raise ValueError("give exactly one of css, xpath (HTML) or path (JSON)")
        if self.siblings and self.path is not None:
            raise ValueError("siblings: only for HTML items (css or xpath)")
        if self.until is not None and not self.siblings:
            raise ValueError("until: only with siblings: true")
        return self

    def values(self) -> dict[str, ItemValue | str]:
        """Every item value by its key (id, permalink, fields.NAME), for validation."""
        found: dict[str, ItemValue | str] = {"id": self.id}
        if self.permalink is not None:
            found["permalink"] = self.permalink
        found.update({f"fields.{name}": value for name, value in self.fields.items()})
        return found


class Pagination(Part):
    """The next (older) page when no link leads there: a page number, an offset, a cursor (or a whole
    next URL) read from the JSON response or from an element of the HTML page, or an item id
    (``before=``/``after=`` feeds). Paging ends at a page without items or without a cursor."""

    by: Literal["page", "offset", "cursor", "next_url", "item_id"]
    param: str | None = Field(None, description="the query parameter set on the current URL")
    url: str | None = Field(None, description="or a URL template with {value}, relative to the current URL")
    start: int | None = Field(None, description="value of the start URL (page: 1, offset: 0)")
    step: int | None = Field(None, ge=1, description="page: 1; offset: the number of items on the page")
    cursor: str | None = Field(None, description="by: cursor / next_url: JMESPath into the JSON response")
    css: str | None = Field(None, description="by: cursor / next_url, HTML: the element holding the value")
    xpath: str | None = Field(None, description="the same with XPath")
    attr: str | None = Field(None, description="with css/xpath: an attribute's value instead of the text")
    link_rel: str | None = Field(
        None, pattern=r"^[A-Za-z][\w.-]{0,40}$", description="by: next_url: the HTTP Link header's URL of this rel"
    )
    item: Literal["min", "max", "first", "last"] = Field("min", description="by: item_id: which item's id")

    _cursor = field_validator("cursor")(classmethod(lambda cls, v: v if v is None else _jmespath_compiles(v)))
    _css = field_validator("css")(classmethod(lambda cls, v: v if v is None else _css_compiles(v)))
    _xpath = field_validator("xpath")(classmethod(lambda cls, v: v if v is None else _xpath_compiles(v)))

    @field_validator("url")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None and "{value}" not in value:
            raise ValueError("the URL template must contain {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Pagination:
        if self.by == "next_url":
            if self.param is not None or self.url is not None:
                raise ValueError("by: next_url takes the whole URL from the response: no param, url")
        elif (self.param is None) == (self.url is None):
            raise ValueError("give exactly one of param, url")
        sources = sum(v is not None for v in (self.cursor, self.css, self.xpath, self.link_rel))
        if self.by in ("cursor", "next_url") and sources != 1:
            raise ValueError(
                "by: cursor / next_url needs exactly one of cursor (JMESPath, JSON), css, xpath (HTML) or link_rel"
            )
        if self.by not in ("cursor", "next_url") and (sources or self.attr is not None):
            raise ValueError("cursor, css, xpath, link_rel, attr are only for by: cursor or next_url")
        if self.link_rel is not None and self.by != "next_url":
            raise ValueError("link_rel: the Link header gives a whole URL: use by: next_url")
        if self.attr is not None and self.cursor is not None:
            raise ValueError("attr is for css/xpath (HTML), not for a JMESPath cursor")
        return self


class AdRule(Part):
    """Which URLs are ads, how to read their id, and (optionally) where their fields are."""

    url_regex: str | None = None
    id_regex: str | None = Field(None, description="first group (or whole match) is the ad id")
    fields: dict[str, Selector] = {}
    items: ItemRule | None = None
    incremental_stop: Literal["first_known", "all_known", "never"] | None = Field(
        None, description="default: first_known with items, all_known with ad links"
    )

    _url = field_validator("url_regex")(classmethod(lambda cls, v: v if v is None else _compiles(v)))

    @model_validator(mode="after")
    def _some_ads(self) -> AdRule:
        if self.url_regex is None and self.items is None:
            raise ValueError("give url_regex (ad pages), items (ads inside pages) or both")
        return self

    @property
    def stop_rule(self) -> str:
        return self.incremental_stop or ("first_known" if self.items else "all_known")

    @field_validator("id_regex")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        if value is not None and re.compile(_compiles(value)).groups > 1:
            raise ValueError("use at most one capturing group (the ad id)")
        return value

    def is_ad(self, url: str) -> bool:
        return self.url_regex is not None and re.search(self.url_regex, url) is not None

    def ad_id(self, url: str) -> str | None:
        if not self.id_regex:
            return None
        found = re.search(self.id_regex, url)
        if found is None:
            return None
        return found.group(1) if found.re.groups else found.group(0)


class WaitFor(Part):
    css: str
    timeout: float = Field(10.0, gt=0, description="seconds")
    pages: Literal["listing", "ad", "all"] = Field("listing", description="which pages wait for it")

    _css = field_validator("css")(classmethod(lambda cls, v: _css_compiles(v)))


class Limits(Part):
    max_pages: int = Field(1000, ge=1)
    max_depth: int = Field(5, ge=0, description="0 = start pages only")
    max_seconds: float | None = Field(None, gt=0, description="stop the crawl after this long")


class Politeness(Part):
    download_delay: float = Field(1.0, ge=0)
    concurrency: int = Field(4, ge=1, le=64, description="parallel requests per domain")
    obey_robots: bool = True
    autothrottle: bool = True
    timeout: float = Field(30.0, gt=0, description="per request, seconds (page render included)")
    retries: int = Field(2, ge=0)
    user_agent: str | None = None


class Images(Part):
    """Opt-in image analysis (docs/images.md): what the image worker may do with an ad's pictures.
    Never over Tor, never for an escalated ad, and no image is ever stored."""

    ocr: bool = Field(True, description="read contact details from the images (Tesseract)")
    hashes: bool = Field(True, description="perceptual hashes: the same photo across ads becomes a link")
    max_per_ad: int = Field(4, ge=1, le=20, description="images fetched per ad, in page order")
    max_bytes: int = Field(5 * 1024 * 1024, ge=1024, le=32 * 1024 * 1024, description="per image; larger is refused")


def parse_duration(text: str) -> timedelta:
    """'30m', '2h', '1d', '1h30m', '45s' -> timedelta; ValueError otherwise."""
    found = DURATION.match(text.strip()) if text and text.strip() else None
    if not found or not any(found.groups()):
        raise ValueError(f"expected a duration like 30m, 2h, 1d or 1h30m, got {text!r}")
    days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
    span = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if span.total_seconds() <= 0:
        raise ValueError("duration must be positive")
    return span


class Watch(Part):
    """When monitoring re-crawls the site: ``every`` (interval) or ``cron`` (5-field crontab)."""

    every: str | None = None
    cron: str | None = None
    incremental: bool = True

    @field_validator("every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value)
            except ValueError as exc:
                raise ValueError(f"not a valid crontab expression ({exc})") from None
        return value

    @model_validator(mode="after")
    def _one(self) -> Watch:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of every, cron")
        return self

    @property
    def interval(self) -> timedelta | None:
        return parse_duration(self.every) if self.every else None


class FromEnv(Part):
    """A secret read from the environment when the crawl starts, never stored in the profile."""

    env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


SecretValue = Annotated[str | FromEnv, Field(union_mode="left_to_right")]


class SiteProfile(Part):
    id: str
    name: str = ""
    source: Literal["html", "json", "xml"] = Field(
        "html", description="what the start URLs and listings return (xml: RSS, Atom and other XML feeds)"
    )
    json_in: str | None = Field(
        None, description="source: json: CSS of the element of an HTML page holding the JSON (a script)"
    )
    network: Literal["clearnet", "tor"] = "clearnet"
    via_tor: bool = Field(False, description="same as network: tor")
    start_urls: list[str] = []
    sitemap_urls: list[str] = []
    allowed_domains: list[str] | None = Field(None, description="default: hosts of start and sitemap URLs")
    country: str | None = None
    language: str | None = None
    follow: list[FollowRule] = []
    ads: AdRule
    pagination: Pagination | None = None
    render_js: bool = False
    wait_for: WaitFor | None = None
    render_resources: list[Literal["image", "font", "media"]] = Field(
        default_factory=list, description="resource types the browser may load (none by default; never over Tor)"
    )
    allow_private_network: bool = False
    limits: Limits = Limits()
    politeness: Politeness = Politeness()
    watch: Watch | None = None
    headers: dict[str, SecretValue] = {}
    cookies: dict[str, SecretValue] = {}
    drop_query_params: list[str] = Field(default_factory=list, description="removed before dedup")
    images: Images | None = Field(None, description="absent: images are never fetched")
    enabled: bool = True
    file: Path | None = Field(None, exclude=True, description="the file it was read from")

    html_in: str | None = Field(
        None, description="source: html: JMESPath to the HTML a JSON response carries (a load-more endpoint)"
    )

    _json_in = field_validator("json_in")(classmethod(lambda cls, v: v if v is None else _css_compiles(v)))
    _html_in = field_validator("html_in")(classmethod(lambda cls, v: v if v is None else _jmespath_compiles(v)))

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not PROFILE_ID.match(value):
            raise ValueError("must match [a-z0-9-]+ (lower-case letters, digits, hyphens)")
        return value

    @field_validator("start_urls", "sitemap_urls")
    @classmethod
    def _urls(cls, values: list[str]) -> list[str]:
        for url in values:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url!r} is not an absolute http(s) URL")
        return values

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import phonenumbers

        upper = value.upper()
        if upper not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
        return upper

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z]{2,3}", value.lower()):
            raise ValueError(f"{value!r} is not an ISO 639 language code (e.g. nl, de, pt)")
        return value.lower() if value else value

    @model_validator(mode="after")
    def _consistent(self) -> SiteProfile:
        if self.via_tor:
            self.network = "tor"
        if not self.start_urls and not self.sitemap_urls:
            raise ValueError("give start_urls or sitemap_urls (or both)")
        if self.wait_for is not None and not self.render_js:
            raise ValueError("wait_for needs render_js: true")
        if self.images is not None and self.network == "tor":
            raise ValueError("images: not available for network: tor profiles (images are never fetched over Tor)")
        self._check_items()
        return self

    def _check_items(self) -> None:
        """JSON sources read items with JMESPath, HTML and XML sources with css/xpath; plain strings
        are shorthand for whichever the source reads."""
        items = self.ads.items
        if self.json_in is not None and self.source != "json":
            raise ValueError("json_in: needs source: json (the JSON inside an HTML page)")
        if self.source == "json":
            if items is None or items.path is None:
                raise ValueError("ads.items.path: a JSON source needs items with a JMESPath path")
            if self.render_js:
                raise ValueError("render_js: a JSON source is not rendered")
            if self.ads.fields:
                raise ValueError("ads.fields: a JSON source reads fields under ads.items.fields")
        elif items is not None and items.path is not None:
            raise ValueError("ads.items.path: JMESPath needs source: json (use css or xpath)")
        if self.source == "xml":
            if items is None:
                raise ValueError("ads.items: an XML feed needs items (css or xpath, e.g. item or entry)")
            if self.render_js:
                raise ValueError("render_js: an XML feed is not rendered")
        paging = self.pagination
        if self.html_in is not None and self.source != "html":
            raise ValueError("html_in: the HTML inside a JSON response is read with source: html")
        if paging is not None and paging.cursor and self.source != "json" and self.html_in is None:
            raise ValueError("pagination.cursor: a JMESPath cursor needs source: json (use css or xpath on HTML)")
        if paging is not None and (paging.css or paging.xpath) and self.source == "json":
            raise ValueError("pagination.css: a JSON source reads its cursor with cursor (JMESPath)")
        if items is None:
            return
        json_items = self.source == "json"
        for key, value in items.values().items():
            if isinstance(value, str):
                value = ItemValue(path=value) if json_items else ItemValue(css=value)
                _set_item_value(items, key, value)
            elif json_items and (value.css or value.xpath or value.attr):
                raise ValueError(f"ads.items.{key}: a JSON item is read with path (JMESPath)")
            elif not json_items and value.path:
                raise ValueError(f"ads.items.{key}: path (JMESPath) needs source: json")
        if items.detail is not None:
            detail = items.detail
            for name, value in detail.fields.items():
                if isinstance(value, str):
                    detail.fields[name] = ItemValue(path=value) if detail.source == "json" else ItemValue(css=value)

    @property
    def domains(self) -> list[str]:
        if self.allowed_domains is not None:
            return self.allowed_domains
        hosts = {urlsplit(u).hostname for u in [*self.start_urls, *self.sitemap_urls]}
        return sorted(h for h in hosts if h)

    def resolved_headers(self) -> dict[str, str]:
        return self._resolve("headers", self.headers)

    def resolved_cookies(self) -> dict[str, str]:
        return self._resolve("cookies", self.cookies)

    def _resolve(self, section: str, values: dict[str, str | FromEnv]) -> dict[str, str]:
        resolved: dict[str, str] = {}
        for name, value in values.items():
            if isinstance(value, FromEnv):
                if value.env not in os.environ:
                    raise ProfileError(
                        self.file or self.id,
                        f"{section}.{name}",
                        f"environment variable {value.env} is not set",
                    )
                resolved[name] = os.environ[value.env]
            else:
                resolved[name] = value
        return resolved


def _set_item_value(items: ItemRule, key: str, value: ItemValue) -> None:
    if key.startswith("fields."):
        items.fields[key.removeprefix("fields.")] = value
    else:
        setattr(items, key, value)


KEYED_REASON = re.compile(r"^([a-z_]+(?:\.[a-z_]+)*): (.+)$", re.S)
TYPE_MISMATCH = {"string_type", "model_type", "model_attributes_type", "dict_type"}


def _describe(error: ValidationError) -> tuple[str, str]:
    """The most telling error: for an either/or key (text or {env: VAR}) the one past the type check."""
    first = min(error.errors(), key=lambda e: (e["type"] in TYPE_MISMATCH, -len(e["loc"])))
    key = ""
    for part in first["loc"]:
        if isinstance(part, int):
            key += f"[{part}]"
        elif not str(part).startswith(("function-", "str", "FromEnv")):
            key += f".{part}" if key else str(part)
    key = key or "(root)"
    reason = first["msg"].removeprefix("Value error, ")
    keyed = KEYED_REASON.match(reason)
    if key == "(root)" and keyed:
        key, reason = keyed.groups()
    if first["type"] == "extra_forbidden":
        reason = "unknown key"
    elif first["type"] == "missing":
        reason = "required key is missing"
    return key, reason


def parse_profile(data: Any, source: str | Path = "<profile>") -> SiteProfile:
    if not isinstance(data, dict):
        raise ProfileError(source, "(root)", "the file must hold a mapping of keys")
    try:
        profile = SiteProfile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(source, *_describe(exc)) from None
    profile.file = Path(source) if source != "<profile>" else None
    return profile


def load_profile(path: str | Path) -> SiteProfile:
    """Read and validate one profile file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(path, "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(path, "(file)", f"cannot be read ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(path, "(file)", f"not valid YAML ({exc})".replace("\n", " ")) from None
    profile = parse_profile(data, path)
    if profile.id != path.stem:
        raise ProfileError(path, "id", f"must equal the file name {path.stem!r}, got {profile.id!r}")
    return profile


def profile_files(directory: str | Path) -> list[Path]:
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in PROFILE_SUFFIXES and p.is_file())


def load_profiles(directory: str | Path) -> tuple[list[SiteProfile], list[ProfileError]]:
    """Every profile in the directory, and every error; one bad file never hides the others."""
    profiles: list[SiteProfile] = []
    errors: list[ProfileError] = []
    seen: dict[str, Path] = {}
    for path in profile_files(directory):
        try:
            profile = load_profile(path)
        except ProfileError as exc:
            errors.append(exc)
            continue
        if profile.id in seen:
            errors.append(ProfileError(path, "id", f"{profile.id!r} is already used by {seen[profile.id]}"))
            continue
        seen[profile.id] = path
        profiles.append(profile)
    return profiles, errors


def find_profile(ref: str | Path, directory: str | Path) -> SiteProfile:
    """A profile by path (anything with a / or a .yaml suffix that exists) or by id in the directory."""
    candidate = Path(ref)
    if candidate.suffix in PROFILE_SUFFIXES or os.sep in str(ref) or candidate.is_file():
        return load_profile(candidate)
    for suffix in PROFILE_SUFFIXES:
        path = Path(directory) / f"{ref}{suffix}"
        if path.is_file():
            return load_profile(path)
    raise ProfileError(Path(directory) / f"{ref}.yaml", "(file)", f"no profile with id {str(ref)!r} in {directory}")


def job_profile(profile_id: str, profile_path: str | None, directory: str | Path) -> Path:
    """The profile file a crawl job from Kafka may run: one inside ``directory``, nowhere else.

    A job names a profile id (and, for a profile in a subdirectory, its path); whoever can write to
    the jobs topic must not be able to make a worker load an arbitrary file. Paths are resolved
    (``..`` and symlinks included) before the check. ProfileError says what was refused and why.
    """
    root = Path(directory).resolve()
    if not PROFILE_ID.match(profile_id or ""):
        raise ProfileError(root, "profile_id", f"{profile_id!r} is not a profile id ([a-z0-9-]+)")
    candidates = [Path(profile_path)] if profile_path else [root / f"{profile_id}{s}" for s in PROFILE_SUFFIXES]
    for candidate in candidates:
        path = (candidate if candidate.is_absolute() else root / candidate).resolve()
        if not path.is_relative_to(root) or path.suffix not in PROFILE_SUFFIXES:
            raise ProfileError(
                candidate, "(file)", f"refused: crawl jobs may only name profile files inside the profiles directory {root}"
            )
        if path.is_file():
            return path
    raise ProfileError(candidates[0], "(file)", f"no profile with id {profile_id!r} in {root}")
