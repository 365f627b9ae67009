"""SiteConfig: content/site.yaml plus command-line overrides, validated once.

Every problem in site.yaml is collected and reported together, so a curator
fixes the file in one pass instead of one error per build.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

SITE_FILE = "site.yaml"


class ConfigError(ValueError):
    """content/site.yaml (or an override) is invalid; the message lists every problem."""


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """How to build the site: what it is called, where it lives, where files go."""

    title: str = "Paper Atlas"
    description: str = ""
    """One or two sentences shown on the home page and in feeds and metadata."""
    author: str = "Paper Atlas"
    """Curator name: the feeds' author and the footer credit."""
    base_url: str = "https://example.org/"
    """Absolute URL the site is served from, ending in '/'. Used for feeds, the
    sitemap, canonical links and OpenGraph; page-to-page links stay relative."""
    language: str = "en"
    feed_id: str = ""
    """Prefix of every Atom id (an IRI, e.g. 'tag:example.org,2025:atlas'). Never
    change it once published: feed readers use it to recognise entries."""
    per_page: int = 50
    """Papers per topic or year page; page N of a list is always at .../page/N/."""
    feed_entries: int = 50
    """Latest papers per Atom feed."""
    citation_meta: bool = False
    """Emit Google Scholar citation_* tags on paper pages (off: the site does not host papers)."""
    directory_links: bool = False
    """Link to 'topics/x/' instead of 'topics/x/index.html'. The default works
    when the site is opened from disk (file://); turn on for prettier links on a web host."""
    nav: tuple[tuple[str, str], ...] = (
        ("Topics", "topics/"), ("Overview", "overview/"), ("Years", "years/"), ("Authors", "authors/"),
        ("Digests", "digests/"), ("About", "about/"),
    )
    """Header navigation: (label, site-relative URL). Overview, Authors and About are left
    out when the site has no topics, no named authors or no about.md."""
    root: Path = Path(".")
    """Project folder holding content/ and templates/."""
    content_dir: Path = Path("content")
    templates_dir: Path = Path("templates")
    theme_dir: Path | None = None
    """Optional folder whose templates and static/ files override templates/."""
    out_dir: Path = Path("_site")
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """Keys under `extra:` in site.yaml, passed to templates untouched."""

    @property
    def taxonomy_path(self) -> Path:
        """Where the topic tree lives."""
        return self.content_dir / "taxonomy.yaml"

    @property
    def base_path(self) -> str:
        """Path part of base_url ('/survey/'), for the 404 page served at any depth."""
        return urlsplit(self.base_url).path or "/"

    def absolute(self, url: str) -> str:
        """Turn a site-relative URL ('papers/x/') into an absolute one."""
        return self.base_url + url

    def template_view(self) -> dict[str, Any]:
        """The JSON-serializable part templates may read as `site`."""
        return {
            "title": self.title, "description": self.description, "author": self.author,
            "base_url": self.base_url, "language": self.language,
            "citation_meta": self.citation_meta, "directory_links": self.directory_links,
            "nav": [list(item) for item in self.nav], "extra": self.extra,
        }

    def fingerprint(self) -> dict[str, Any]:
        """Everything that can change an output, as JSON-friendly data (for build caches)."""
        data = asdict(self)
        # Relative to the project: `--root .` and `--root /abs/path` are one project, and a
        # project moved or copied elsewhere keeps its cache (no page is re-keyed by its path).
        for key in ("root", "content_dir", "templates_dir", "theme_dir", "out_dir"):
            data[key] = project_path(data[key], self.root) if data[key] is not None else None
        data["nav"] = [list(item) for item in self.nav]
        return data


def project_path(path: Path, root: Path) -> str:
    """`path` relative to the project root when inside it ('content'), else resolved and absolute."""
    resolved, base = Path(path).resolve(), Path(root).resolve()
    return resolved.relative_to(base).as_posix() if resolved.is_relative_to(base) else str(resolved)


_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_KNOWN = {
    "title", "description", "author", "base_url", "language", "feed_id", "per_page",
    "feed_entries", "citation_meta", "directory_links", "nav", "theme_dir", "extra",
}


def check_base_url(url: str) -> str:
    """Return url with a trailing '/', or raise ConfigError if it is not absolute http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"base_url must be an absolute http(s) URL, got {url!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"base_url must not have a query or fragment, got {url!r}")
    return url if url.endswith("/") else url + "/"


def default_feed_id(base_url: str) -> str:
    """A tag: IRI derived from the site's host, used when site.yaml sets no feed_id."""
    parts = urlsplit(base_url)
    path = parts.path.strip("/")
    return f"tag:{parts.hostname},2025:{path or 'atlas'}"


def parse_config(data: Any, *, source: str = SITE_FILE) -> dict[str, Any]:
    """Validate site.yaml data; return the fields for SiteConfig or raise ConfigError listing all problems."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings, got {type(data).__name__}")
    errors: list[str] = []
    fields: dict[str, Any] = {}
    for key in sorted(set(data) - _KNOWN, key=str):
        errors.append(f"unknown setting {key!r} (known: {', '.join(sorted(_KNOWN))})")

    def text(key: str, *, required: bool = False) -> None:
        if key not in data:
            if required:
                errors.append(f"{key!r} is required")
            return
        value = data[key]
        if not isinstance(value, str) or (required and not value.strip()):
            errors.append(f"{key!r} must be a non-empty string, got {value!r}")
        else:
            fields[key] = value.strip()

    def number(key: str, low: int, high: int) -> None:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                errors.append(f"{key!r} must be a whole number from {low} to {high}, got {value!r}")
            else:
                fields[key] = value

    def flag(key: str) -> None:
        if key in data:
            if not isinstance(data[key], bool):
                errors.append(f"{key!r} must be true or false, got {data[key]!r}")
            else:
                fields[key] = data[key]

    text("title", required=True)
    text("description")
    text("author")
    text("feed_id")
    text("language")
    if "language" in fields and not _LANGUAGE.fullmatch(fields["language"]):
        errors.append(f"'language' must be a language tag like 'en' or 'en-GB', got {fields['language']!r}")
    if "base_url" in data:
        if not isinstance(data["base_url"], str):
            errors.append(f"'base_url' must be a string, got {data['base_url']!r}")
        else:
            try:
                fields["base_url"] = check_base_url(data["base_url"].strip())
            except ConfigError as error:
                errors.append(str(error))
    number("per_page", 5, 1000)
    number("feed_entries", 1, 1000)
    flag("citation_meta")
    flag("directory_links")
    if "nav" in data:
        nav = data["nav"]
        items: list[tuple[str, str]] = []
        if not isinstance(nav, list):
            errors.append("'nav' must be a list of {label, url} items")
        else:
            for i, item in enumerate(nav):
                label = item.get("label") if isinstance(item, dict) else None
                url = item.get("url") if isinstance(item, dict) else None
                if (not isinstance(label, str) or not label.strip() or not isinstance(url, str)
                        or url.startswith(("/", "..")) or ":" in url):
                    errors.append(f"nav item {i + 1} needs a 'label' and a site-relative 'url' "
                                  f"like 'topics/', got {item!r}")
                else:
                    items.append((label.strip(), url))
            fields["nav"] = tuple(items)
    if "theme_dir" in data:
        if not isinstance(data["theme_dir"], str) or not data["theme_dir"].strip():
            errors.append(f"'theme_dir' must be a folder name, got {data['theme_dir']!r}")
        else:
            fields["theme_dir"] = data["theme_dir"].strip()
    if "extra" in data:
        if not isinstance(data["extra"], dict):
            errors.append("'extra' must be a mapping")
        else:
            fields["extra"] = data["extra"]
    if errors:
        raise ConfigError(f"{source}: " + "; ".join(errors))
    return fields


def load_config(root: Path, *, out_dir: Path | None = None, base_url: str | None = None) -> SiteConfig:
    """Read content/site.yaml under root, apply overrides, and return a validated SiteConfig."""
    root = Path(root)
    content_dir = root / "content"
    path = content_dir / SITE_FILE
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raw = ""
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from error
    try:
        data = yaml.safe_load(raw) if raw.strip() else {"title": "Paper Atlas"}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML: {error}") from error
    fields = parse_config(data, source=str(path))
    if base_url is not None:
        fields["base_url"] = check_base_url(base_url)
    theme = fields.pop("theme_dir", None)
    config = SiteConfig(
        **fields, root=root, content_dir=content_dir, templates_dir=root / "templates",
        theme_dir=(root / theme) if theme else None,
        out_dir=Path(out_dir) if out_dir is not None else root / "_site",
    )
    if not config.feed_id:
        config = replace(config, feed_id=default_feed_id(config.base_url))
    return config
