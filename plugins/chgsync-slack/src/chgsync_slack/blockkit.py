"""Block Kit's documented limits, checked the way Slack checks them, for the stand-in.

Slack refuses a message whose blocks break a rule with ``invalid_blocks`` and one line per problem
ending in a JSON pointer to the offending value; :func:`check_blocks` returns those lines, all of
them, so a test sees every mistake in a layout at once. Only the block types chgsync's layouts can
produce are checked in depth; other known types are accepted as they are.
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
KNOWN_TYPES = frozenset({"header", "section", "context", "divider", "actions", "image", "rich_text", "input",
                         "file", "video", "markdown"})
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
BUTTON_STYLES = frozenset({"primary", "danger"})


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, message: str, pointer: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    def string(self, value: Any, pointer: str, limit: int, *, required: bool = True) -> bool:
        if value is None and not required:
            return True
        if not isinstance(value, str):
            self.fail("must be a string", pointer)
        elif not value:
            self.fail("must be more than 0 characters", pointer)
        elif len(value) > limit:
            self.fail(f"must be less than {limit + 1} characters", pointer)
        else:
            return True
        return False

    def text(self, obj: Any, pointer: str, limit: int, kinds: frozenset[str] = TEXT_TYPES) -> None:
        if not isinstance(obj, dict):
            self.fail("must be a text object", pointer)
            return
        if obj.get("type") not in kinds:
            self.fail(f"must be one of {', '.join(sorted(kinds))}", f"{pointer}/type")
        self.string(obj.get("text"), f"{pointer}/text", limit)

    def elements(self, value: Any, pointer: str, limit: int) -> list[Any]:
        if not isinstance(value, list) or not value:
            self.fail("must provide at least 1 item", pointer)
            return []
        if len(value) > limit:
            self.fail(f"must provide no more than {limit} items", pointer)
        return value

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, dict):
            self.fail("must be an object", pointer)
            return
        kind = block.get("type")
        if kind not in KNOWN_TYPES:
            self.fail(f"unknown block type {kind!r}", f"{pointer}/type")
            return
        self.string(block.get("block_id"), f"{pointer}/block_id", 255, required=False)
        getattr(self, f"_{kind}", lambda b, p: None)(block, pointer)

    def _header(self, block: dict[str, Any], pointer: str) -> None:
        self.text(block.get("text"), f"{pointer}/text", 150, frozenset({"plain_text"}))

    def _section(self, block: dict[str, Any], pointer: str) -> None:
        if "text" not in block and "fields" not in block:
            self.fail("must provide either text or fields", pointer)
        if "text" in block:
            self.text(block["text"], f"{pointer}/text", 3000)
        if "fields" in block:
            for i, field in enumerate(self.elements(block["fields"], f"{pointer}/fields", 10)):
                self.text(field, f"{pointer}/fields/{i}", 2000)

    def _context(self, block: dict[str, Any], pointer: str) -> None:
        for i, element in enumerate(self.elements(block.get("elements"), f"{pointer}/elements", 10)):
            if isinstance(element, dict) and element.get("type") == "image":
                continue
            self.text(element, f"{pointer}/elements/{i}", 3000)

    def _actions(self, block: dict[str, Any], pointer: str) -> None:
        seen: set[str] = set()
        for i, element in enumerate(self.elements(block.get("elements"), f"{pointer}/elements", 25)):
            where = f"{pointer}/elements/{i}"
            if not isinstance(element, dict) or not isinstance(element.get("type"), str):
                self.fail("must be an element object with a type", where)
                continue
            action_id = element.get("action_id")
            if self.string(action_id, f"{where}/action_id", 255, required=False) and action_id is not None:
                if action_id in seen:
                    self.fail("action_id must be unique within the block", f"{where}/action_id")
                seen.add(action_id)
            if element["type"] == "button":
                self._button(element, where)

    def _button(self, button: dict[str, Any], pointer: str) -> None:
        self.text(button.get("text"), f"{pointer}/text", 75, frozenset({"plain_text"}))
        url = button.get("url")
        valid = self.string(url, f"{pointer}/url", 3000, required=False)
        if valid and url is not None and not url.startswith(("http://", "https://")):
            self.fail("must be a valid URL", f"{pointer}/url")
        self.string(button.get("value"), f"{pointer}/value", 2000, required=False)
        if "style" in button and button["style"] not in BUTTON_STYLES:
            self.fail("must be one of danger, primary", f"{pointer}/style")


def check_blocks(blocks: Any) -> list[str]:
    """Every problem Slack would report for ``blocks``; empty when they are fine."""
    checker = _Checker()
    if not isinstance(blocks, list):
        checker.fail("must be an array", "/blocks")
        return checker.errors
    if len(blocks) > MAX_BLOCKS:
        checker.fail(f"must provide no more than {MAX_BLOCKS} items", "/blocks")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        checker.block(block, f"/blocks/{i}")
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if isinstance(block_id, str):
            if block_id in block_ids:
                checker.fail("block_id must be unique", f"/blocks/{i}/block_id")
            block_ids.add(block_id)
    return checker.errors
