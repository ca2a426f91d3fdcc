"""The demo's parts that ship with the product: the replay feed server over the committed seed feeds."""

from bot.demo.replay import (
    DEFAULT_MAX_ENTRIES,
    ReplayServer,
    ReplayStats,
    default_seeds_dir,
    start_replay_server,
)
from bot.demo.seedfeeds import SeedError, SeedFeed

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "ReplayServer",
    "ReplayStats",
    "SeedError",
    "SeedFeed",
    "default_seeds_dir",
    "start_replay_server",
]
