"""Store-backed implementations of what the commands need (CommandServices) and their hooks."""

from bot.services.commands import (
    DigestRequester,
    QueryValidator,
    StoreCommandServices,
    TopicsChanged,
    digest_request_unwired,
    ignore_topics_changed,
    validate_topic_query,
)

__all__ = [
    "DigestRequester",
    "QueryValidator",
    "StoreCommandServices",
    "TopicsChanged",
    "digest_request_unwired",
    "ignore_topics_changed",
    "validate_topic_query",
]
