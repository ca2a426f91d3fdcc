"""storywatch core: knows nothing of Slack, Discord or APScheduler."""

__version__ = "0.1.0"
