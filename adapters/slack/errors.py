"""Slack Web API failures in the deliver job's terms (retry, gone, forbidden, invalid), with readable reasons.

The reason of a gone or forbidden error is what `list` shows beside the paused subscription, so each
says what happened and what to do. Unknown error codes are retried (with backoff, up to the job's
attempts): giving up on a message for a code we have never seen would lose it for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.messages import DeliveryError

_REINSTALL = "the app's token no longer works; reinstall the app or set a new SLACK_BOT_TOKEN"
# The errors that mean the token itself is dead (not the channel).
TOKEN_ERRORS = frozenset(
    {"account_inactive", "invalid_auth", "not_authed", "token_revoked", "token_expired", "org_login_required"}
)
_GONE = {
    "channel_not_found": "channel_not_found: the channel is gone, or is private and the app is not in it",
    "is_archived": "is_archived: the channel is archived; unarchive it and subscribe again",
}
_FORBIDDEN = {
    "not_in_channel": "not_in_channel: add the app to the channel (/invite @app), then subscribe again",
    **{code: f"{code}: {_REINSTALL}" for code in TOKEN_ERRORS},
    "no_permission": "no_permission: the app may not post in this channel",
    "restricted_action": "restricted_action: a workspace setting stops the app from posting here",
    "restricted_action_read_only_channel": "restricted_action_read_only_channel: only admins may post here",
    "restricted_action_thread_only_channel": "restricted_action_thread_only_channel: the channel takes "
    "thread replies only; subscribe with 'threaded'",
    "restricted_action_non_threadable_channel": "restricted_action_non_threadable_channel: the channel has "
    "no threads; subscribe with 'unthreaded'",
    "ekm_access_denied": "ekm_access_denied: the workspace's key management denies access",
    "team_access_not_granted": "team_access_not_granted: the app is not installed in this workspace",
    "access_denied": "access_denied: the app may not post in this channel",
}
_INVALID = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "invalid_arguments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "too_many_attachments",
        "invalid_attachments",
    }
)
_TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Replying to a thread whose parent message was deleted.
THREAD_GONE = frozenset({"thread_not_found", "invalid_thread_ts"})


def error_code(exc: SlackApiError) -> str:
    data = exc.response.data if exc.response is not None else None
    code = data.get("error") if isinstance(data, dict) else None
    return str(code or f"http_{exc.response.status_code if exc.response is not None else 'error'}")


def retry_after(headers: Mapping[str, Any] | None) -> float | None:
    """The Retry-After header in seconds, from a response's headers (a value, or a list of values)."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return None
    return None


def delivery_error(exc: SlackApiError) -> DeliveryError:
    """The DeliveryError for a failed chat.postMessage."""
    code = error_code(exc)
    status = exc.response.status_code if exc.response is not None else 0
    if status == 429 or code == "ratelimited":
        headers = exc.response.headers if exc.response is not None else None
        return DeliveryError("retry", "ratelimited", retry_after(headers) or 1.0)
    if status >= 500 or code in _TRANSIENT:
        return DeliveryError("retry", f"{code} (HTTP {status})" if status >= 500 else code)
    if code in _GONE:
        return DeliveryError("gone", _GONE[code])
    if code == "missing_scope":
        data = exc.response.data if exc.response is not None else None
        needed = data.get("needed") if isinstance(data, dict) else None
        scope = f" {needed}" if needed else ""
        return DeliveryError(
            "forbidden", f"missing_scope: the app needs the{scope} scope; add it and reinstall the app"
        )
    if code in _FORBIDDEN:
        return DeliveryError("forbidden", _FORBIDDEN[code])
    if code in _INVALID:
        return DeliveryError("invalid", code)
    return DeliveryError("retry", f"unexpected Slack error: {code}")


def is_token_error(error: DeliveryError) -> bool:
    """Whether Slack refused the token rather than the channel (the reason starts with the code)."""
    return error.kind == "forbidden" and error.reason.partition(":")[0] in TOKEN_ERRORS


def network_error(exc: BaseException) -> DeliveryError:
    return DeliveryError("retry", f"network: {type(exc).__name__}: {exc}"[:300])
