"""Messages out: limits of a platform, splitting by them, and the alert and digest builders."""

from bot.messages.alerts import MUTE_STORY, OPEN_TIMELINE, OPEN_TOPIC_TIMELINE, UNMUTE_STORY, build_alert
from bot.messages.capabilities import Capabilities, utf16_len
from bot.messages.delivery import DeliveryError, DeliveryErrorKind, Receipt
from bot.messages.digests import build_digest
from bot.messages.splitting import check_fits, fit_message, split_message
from bot.messages.text import format_local, truncate
from bot.views import DevelopmentView

__all__ = [
    "MUTE_STORY",
    "OPEN_TIMELINE",
    "OPEN_TOPIC_TIMELINE",
    "UNMUTE_STORY",
    "Capabilities",
    "DeliveryError",
    "DeliveryErrorKind",
    "DevelopmentView",
    "Receipt",
    "build_alert",
    "build_digest",
    "check_fits",
    "fit_message",
    "format_local",
    "split_message",
    "truncate",
    "utf16_len",
]
