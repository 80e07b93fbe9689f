"""Small builders for Slack Block Kit, so handlers describe what to show, not JSON.

Slack caps a section's text at 3,000 characters and a message at 50 blocks; `sections`
splits long text on line boundaries to stay inside both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Block = dict[str, Any]

SECTION_LIMIT = 2900
MESSAGE_BLOCK_LIMIT = 48


def section(text: str) -> Block:
    """A section of mrkdwn text."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def header(text: str) -> Block:
    """A header line (plain text, at most 150 characters)."""
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def context(text: str) -> Block:
    """A small grey line under a message."""
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": text[:SECTION_LIMIT]}],
    }


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> Block:
    """A button element for an actions block."""
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        element["style"] = style
    return element


def actions(*elements: Block) -> Block:
    """A row of buttons."""
    return {"type": "actions", "elements": list(elements)}


def sections(lines: Sequence[str]) -> list[Block]:
    """Sections holding `lines`, each section under Slack's text limit."""
    blocks: list[Block] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > SECTION_LIMIT:
            blocks.append(section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        blocks.append(section("\n".join(chunk)))
    return blocks
