"""Slack's Block Kit limits, and the Capabilities the core splits Slack messages by.

One neutral Section becomes up to three blocks (a section with the bold heading and the text, a
context line, an actions row of link buttons); a message adds a header and a row of action buttons.
Twelve sections is 38 blocks, well under Slack's 50, and 12,000 characters in all stays under the
undocumented `msg_blocks_too_long` total that rejected a 45-block, ~11k-character message.
"""

from __future__ import annotations

from adapters.slack.mrkdwn import escaped_len
from bot.messages import Capabilities

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_TEXT_OBJECT = 3_000
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_LABEL = 75
MAX_BUTTON_URL = 3_000
MAX_BUTTON_VALUE = 2_000
MAX_ACTION_ID = 255
# Slack truncates a longer top-level `text`; it is the notification line, so keep it short anyway.
MAX_FALLBACK_TEXT = 3_000

# A section block's text is `*heading*\n` + text: 150 + 3 + 2,800 stays within 3,000.
_SECTION_TEXT = 2_800

SLACK_CAPABILITIES = Capabilities(
    max_text=MAX_FALLBACK_TEXT,
    max_title=MAX_HEADER,
    max_sections=12,
    max_heading=MAX_HEADER,
    max_section_text=_SECTION_TEXT,
    max_context=2_000,
    max_fields=10,
    max_field=MAX_BUTTON_URL,
    max_total=12_000,
    max_buttons=5,
    max_button_label=MAX_BUTTON_LABEL,
    threads=True,
    buttons=True,
    # chat.postMessage: about one message a second per channel, and a workspace-wide limit besides
    # (unpublished, "several hundred a minute"): 5 a second a workspace stays under it. The global rate
    # only bounds what one process sends to all its workspaces together.
    per_channel_rate=1.0,
    workspace_rate=5.0,
    global_rate=50.0,
    measure=escaped_len,
)
