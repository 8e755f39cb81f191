"""Paginated registry lists: following `Link: <…>; rel="next"` (tags, the catalog, referrers).

Distribution spec "Listing Tags" and "Listing Referrers"; RFC 8288 for the header. A next link must stay
on the first page's origin (credentials belong to it) and must not loop; the page count is bounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx

from layerscope.errors import RegistryError
from layerscope.registry.config import ResolvedHost
from layerscope.registry.failures import Where
from layerscope.registry.transport import Reply, Transport

__all__ = ["MAX_LIST_PAGE", "MAX_PAGES", "follow", "next_link", "string_lists"]

#: Bytes of one page of a tag or repository list.
MAX_LIST_PAGE = 16 << 20
MAX_PAGES = 10_000
_LINK = re.compile(r"<([^>]*)>([^,<]*)")
_JSON = {"Accept": "application/json"}


def next_link(values: list[str]) -> str | None:
    """The `rel="next"` target of Link headers (RFC 8288; distribution spec "Listing Tags")."""
    for value in values:
        for m in _LINK.finditer(value):
            rels = re.findall(r"""rel\s*=\s*"?([^";]+)"?""", m[2], re.IGNORECASE)
            if any("next" in str(rel).lower().split() for rel in rels):
                return m[1]
    return None


def follow(
    transport: Transport,
    where: Where,
    host: ResolvedHost,
    url: httpx.URL,
    headers: dict[str, str],
    *,
    ok: frozenset[int] = frozenset({200}),
    cap: int,
) -> Iterator[Reply]:
    """Every page from *url* on (each request retried); the caller judges each page's status in *ok*."""
    origin = (url.scheme, url.netloc)
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        seen.add(str(url))
        reply = transport.request(where, host, str(url), headers, ok=ok, cap=cap)
        yield reply
        link = next_link(reply.headers.get_list("link"))
        if link is None:
            return
        url = reply.url.join(link)
        if (url.scheme, url.netloc) != origin:
            raise RegistryError(f"{where}: the next page link points to another host")
        if str(url) in seen:
            raise RegistryError(f"{where}: the next page link loops")
    raise RegistryError(f"{where}: more than {MAX_PAGES} pages")


def string_lists(transport: Transport, where: Where, host: ResolvedHost, url: httpx.URL, key: str) -> list[str]:
    """The string lists under *key* of every page from *url* on, joined."""
    names: list[str] = []
    for reply in follow(transport, where, host, url, _JSON, cap=MAX_LIST_PAGE):
        try:
            doc = json.loads(reply.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RegistryError(f"{where}: the answer is not JSON") from None
        page = doc.get(key) if isinstance(doc, dict) else None
        if page is not None and (not isinstance(page, list) or not all(isinstance(n, str) for n in page)):
            raise RegistryError(f"{where}: {key!r} is not a list of strings")
        names.extend(page or ())
    return names
