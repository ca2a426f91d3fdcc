"""URL canonicalisation: one spelling per article URL, so the same story from two feeds dedupes.

Lowercases scheme and host, drops default ports, fragments, tracking parameters and any user name or
password (`https://bank.example@evil.example/` would show one host and open another), maps AMP
variants to the ordinary page, sorts the query and percent-encodes consistently (via w3lib).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

_TRACKING_EXACT = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "ref_src",
        "ref_url",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",
        "yclid",
        "msclkid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "mkt_tok",
        "spm",
        "scm",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "_ga",
        "_gl",
        "traffic_source",
        "cmpid",
        "smid",
        "emc",
        "ito",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "sr_share",
        "at_medium",
        "at_campaign",
        "at_source",
    }
)
_TRACKING_PREFIXES = ("utm_", "at_custom", "pk_", "mtm_")
_AMP_PARAMS = {"amp": ("", "1", "true"), "outputtype": ("amp",)}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_AMP_CACHE = re.compile(r"^/[cv]/(s/)?([^/]+)(/.*)?$")
_AMP_SUFFIX = re.compile(r"\.amp(\.html?)?$")


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def absolute_url(link: str, *bases: str | None) -> str:
    """`link` resolved against the first absolute http(s) base; unchanged when it already is absolute."""
    link = link.strip()
    if not link or is_http_url(link):
        return link
    for base in bases:
        if base and is_http_url(base):
            try:
                return urljoin(base.strip(), link)
            except ValueError:
                return link
    return link


@lru_cache(maxsize=65_536)
def canonical_url(url: str) -> str:
    """The canonical spelling of an http(s) URL; anything else comes back stripped but unchanged."""
    # Cached: every poll of a feed sees mostly the same entry URLs as the last one.
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return url
    path = parts.path
    cache = _AMP_CACHE.match(path) if host.endswith(".cdn.ampproject.org") else None
    if cache:
        # AMP cache URLs carry the origin: /c/s/example.com/path is https://example.com/path.
        scheme = "https" if cache.group(1) else "http"
        origin = urlsplit(f"{scheme}://{cache.group(2)}")
        host, port, path = origin.hostname or "", origin.port, cache.group(3) or "/"
    if host.startswith("amp.") and host.count(".") >= 2:
        host = "www." + host[4:]
    path = _strip_amp_path(path)
    query = _clean_query(parts.query)
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    if ":" in host:
        netloc = f"[{host}]" if port is None or port == _DEFAULT_PORTS[scheme] else f"[{host}]:{port}"
    rebuilt = urlunsplit((scheme, netloc, path or "/", query, ""))
    try:
        return canonicalize_url(rebuilt, keep_fragments=False)
    except (ValueError, UnicodeError):
        return rebuilt


def _strip_amp_path(path: str) -> str:
    segments = path.split("/")
    # '/amp/...' prefixes and '.../amp' or '.../amp/' suffixes are AMP twins of the same page.
    if len(segments) > 2 and segments[1].lower() == "amp":
        del segments[1]
    trailing = segments[-1] == "" and len(segments) > 2
    last = -2 if trailing else -1
    if len(segments) > 2 and segments[last].lower() == "amp":
        del segments[last]
    path = "/".join(segments)
    return _AMP_SUFFIX.sub(lambda m: m.group(1) or "", path)


def _clean_query(query: str) -> str:
    if not query:
        return ""
    kept = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        lowered = name.lower()
        if lowered in _TRACKING_EXACT or lowered.startswith(_TRACKING_PREFIXES):
            continue
        if value.lower() in _AMP_PARAMS.get(lowered, ()):
            continue
        kept.append((name, value))
    kept.sort()
    return urlencode(kept)
