"""The kinds of poll errors: set where a fetch or a document fails, counted by the metrics.

A kind is chosen where the error is raised, never read back from its words, which may quote the
server (an HTTP reason phrase) or the document (a root element's name).
"""

from __future__ import annotations

from typing import Literal, get_args

PollErrorKind = Literal[
    "http_4xx",
    "http_5xx",
    "http_other",
    "timeout",
    "dns",
    "tls",
    "connection",
    "too_large",
    "redirect",
    "refused",
    "invalid_url",
    "encoding",
    # The body was no readable feed.
    "feed",
    # Anything the fetcher, parsers or store did not expect (a bug, an unstorable article).
    "internal",
]
POLL_ERROR_KINDS: tuple[PollErrorKind, ...] = get_args(PollErrorKind)


def http_error_kind(status: int) -> PollErrorKind:
    """The kind of a refusal with HTTP `status`."""
    if 400 <= status < 500:
        return "http_4xx"
    return "http_5xx" if 500 <= status < 600 else "http_other"
