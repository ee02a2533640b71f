"""Atlassian Document Format (REST v3) and wiki markup (REST v2), converted both ways.

Jira Cloud stores rich text once and answers v2 clients with wiki markup and v3 clients with ADF.
An integration that writes through one version and reads through the other (or reads webhooks,
which are always v2) sees the conversion, so the emulator converts too. The subset here covers
what change records contain: paragraphs, line breaks, headings, lists, code blocks, quotes, rules,
mentions, links and the common inline marks. Anything else degrades to its text.
"""

from __future__ import annotations

import html
import re
from typing import Any

Node = dict[str, Any]

BLOCK_TYPES = frozenset(
    {
        "paragraph",
        "heading",
        "bulletList",
        "orderedList",
        "listItem",
        "codeBlock",
        "blockquote",
        "rule",
        "panel",
        "table",
        "tableRow",
        "tableHeader",
        "tableCell",
        "mediaSingle",
        "mediaGroup",
        "media",
        "expand",
        "nestedExpand",
        "taskList",
        "taskItem",
        "decisionList",
        "decisionItem",
        "blockCard",
        "embedCard",
        "layoutSection",
        "layoutColumn",
        "extension",
        "bodiedExtension",
        "multiBodiedExtension",
    }
)
INLINE_TYPES = frozenset(
    {
        "text",
        "hardBreak",
        "mention",
        "emoji",
        "inlineCard",
        "status",
        "date",
        "placeholder",
        "inlineExtension",
        "mediaInline",
    }
)

_MENTION_RE = re.compile(r"\[~accountid:([^\]]+)\]")
_LINK_RE = re.compile(r"\[([^\]|]+)\|([^\]]+)\]|\[((?:https?|mailto):[^\]]+)\]")
_MARKS = (
    ("strong", re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")),
    ("em", re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")),
    ("code", re.compile(r"\{\{(.+?)\}\}")),
)
_HEADING_RE = re.compile(r"^h([1-6])\.\s+(.*)$")
_LIST_RE = re.compile(r"^([*#]+)\s+(.*)$")
_CODE_OPEN_RE = re.compile(r"^\{(code|noformat)(?::([^}]*))?\}\s*$")


# -- validation ----------------------------------------------------------------------------------------
def is_document(value: Any) -> bool:
    """Whether ``value`` is something Jira would accept as an Atlassian Document."""
    if not isinstance(value, dict) or value.get("type") != "doc" or value.get("version") != 1:
        return False
    content = value.get("content")
    return isinstance(content, list) and all(_valid_node(n) for n in content)


def _valid_node(node: Any) -> bool:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return False
    kind = node["type"]
    if kind not in BLOCK_TYPES and kind not in INLINE_TYPES:
        return False
    if kind == "text" and not isinstance(node.get("text"), str):
        return False
    content = node.get("content", [])
    return isinstance(content, list) and all(_valid_node(n) for n in content)


# -- wiki -> ADF ---------------------------------------------------------------------------------------
def wiki_to_adf(text: str) -> Node:
    """The document Jira builds from a v2 string."""
    blocks: list[Node] = []
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append({"type": "paragraph", "content": _inline_lines(para)})
            para.clear()

    while i < len(lines):
        line = lines[i]
        code = _CODE_OPEN_RE.match(line)
        if code:
            flush()
            kind, lang = code.group(1), code.group(2)
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].strip() != "{" + kind + "}":
                body.append(lines[i])
                i += 1
            node: Node = {
                "type": "codeBlock",
                "content": [{"type": "text", "text": "\n".join(body)}] if body else [],
            }
            if lang:
                node["attrs"] = {"language": lang}
            blocks.append(node)
            i += 1
            continue
        if not line.strip():
            flush()
            i += 1
            continue
        heading = _HEADING_RE.match(line)
        if heading:
            flush()
            blocks.append(
                {
                    "type": "heading",
                    "attrs": {"level": int(heading.group(1))},
                    "content": _inline(heading.group(2)),
                }
            )
            i += 1
            continue
        if line.strip() == "----":
            flush()
            blocks.append({"type": "rule"})
            i += 1
            continue
        if line.startswith("bq. "):
            flush()
            blocks.append(
                {"type": "blockquote", "content": [{"type": "paragraph", "content": _inline(line[4:])}]}
            )
            i += 1
            continue
        item = _LIST_RE.match(line)
        if item:
            flush()
            marker = item.group(1)[0]
            items: list[Node] = []
            while i < len(lines):
                m = _LIST_RE.match(lines[i])
                if not m or m.group(1)[0] != marker:
                    break
                items.append(
                    {"type": "listItem", "content": [{"type": "paragraph", "content": _inline(m.group(2))}]}
                )
                i += 1
            blocks.append({"type": "bulletList" if marker == "*" else "orderedList", "content": items})
            continue
        para.append(line)
        i += 1
    flush()
    return {"type": "doc", "version": 1, "content": blocks}


def _inline_lines(lines: list[str]) -> list[Node]:
    nodes: list[Node] = []
    for n, line in enumerate(lines):
        if n:
            nodes.append({"type": "hardBreak"})
        nodes.extend(_inline(line))
    return nodes


def _inline(text: str) -> list[Node]:
    """Inline wiki markup to ADF nodes: mentions and links first, then marks inside plain runs."""
    nodes: list[Node] = []
    pos = 0
    pattern = re.compile(f"{_MENTION_RE.pattern}|{_LINK_RE.pattern}")
    for m in pattern.finditer(text):
        nodes.extend(_marked(text[pos : m.start()], []))
        if m.group(1) is not None:
            nodes.append({"type": "mention", "attrs": {"id": m.group(1), "text": ""}})
        elif m.group(2) is not None:
            nodes.extend(_marked(m.group(2), [{"type": "link", "attrs": {"href": m.group(3)}}]))
        else:
            nodes.append(
                {
                    "type": "text",
                    "text": m.group(4),
                    "marks": [{"type": "link", "attrs": {"href": m.group(4)}}],
                }
            )
        pos = m.end()
    nodes.extend(_marked(text[pos:], []))
    return nodes


def _marked(text: str, marks: list[Node]) -> list[Node]:
    if not text:
        return []
    for kind, regex in _MARKS:
        m = regex.search(text)
        if m:
            inner = (
                _marked(m.group(1), [*marks, {"type": kind}])
                if kind != "code"
                else [_text(m.group(1), [*marks, {"type": "code"}])]
            )
            return _marked(text[: m.start()], marks) + inner + _marked(text[m.end() :], marks)
    return [_text(text, marks)]


def _text(text: str, marks: list[Node]) -> Node:
    node: Node = {"type": "text", "text": text}
    if marks:
        node["marks"] = [dict(m) for m in marks]
    return node


# -- ADF -> wiki ---------------------------------------------------------------------------------------
def adf_to_wiki(doc: Any) -> str:
    """The v2 string Jira renders for a stored document."""
    if not isinstance(doc, dict):
        return ""
    return "\n\n".join(b for b in (_block(n) for n in doc.get("content") or []) if b is not None)


def _block(node: Node, depth: int = 1) -> str | None:
    kind = node.get("type")
    content = node.get("content") or []
    if kind == "paragraph":
        return _inlines(content)
    if kind == "heading":
        level = (node.get("attrs") or {}).get("level", 1)
        return f"h{level}. {_inlines(content)}"
    if kind in ("bulletList", "orderedList"):
        marker = ("*" if kind == "bulletList" else "#") * depth
        lines: list[str] = []
        for item in content:
            parts = item.get("content") or []
            first = True
            for part in parts:
                if part.get("type") in ("bulletList", "orderedList"):
                    nested = _block(part, depth + 1)
                    if nested:
                        lines.append(nested)
                else:
                    text = _block(part, depth) or ""
                    lines.append(f"{marker} {text}" if first else text)
                    first = False
        return "\n".join(lines)
    if kind == "codeBlock":
        lang = (node.get("attrs") or {}).get("language")
        head = f"{{code:{lang}}}" if lang else "{code}"
        return f"{head}\n{_inlines(content)}\n{{code}}"
    if kind == "rule":
        return "----"
    if kind == "blockquote":
        inner = [b for b in (_block(n) for n in content) if b is not None]
        if len(inner) == 1 and "\n" not in inner[0]:
            return f"bq. {inner[0]}"
        return "{quote}\n" + "\n\n".join(inner) + "\n{quote}"
    if kind in INLINE_TYPES:
        return _inlines([node])
    inner = [b for b in (_block(n, depth) for n in content) if b is not None]
    return "\n\n".join(inner) if inner else None


def _inlines(nodes: list[Node]) -> str:
    out: list[str] = []
    for node in nodes:
        kind = node.get("type")
        attrs = node.get("attrs") or {}
        if kind == "text":
            out.append(_apply_marks(node.get("text", ""), node.get("marks") or []))
        elif kind == "hardBreak":
            out.append("\n")
        elif kind == "mention":
            out.append(f"[~accountid:{attrs.get('id', '')}]")
        elif kind == "emoji":
            out.append(attrs.get("text") or attrs.get("shortName", ""))
        elif kind == "inlineCard":
            out.append(attrs.get("url", ""))
        elif kind == "status":
            out.append(attrs.get("text", ""))
        else:
            out.append(_inlines(node.get("content") or []))
    return "".join(out)


def _apply_marks(text: str, marks: list[Node]) -> str:
    link = None
    for mark in marks:
        kind = mark.get("type")
        if kind == "strong":
            text = f"*{text}*"
        elif kind == "em":
            text = f"_{text}_"
        elif kind == "code":
            text = f"{{{{{text}}}}}"
        elif kind == "strike":
            text = f"-{text}-"
        elif kind == "underline":
            text = f"+{text}+"
        elif kind == "link":
            link = (mark.get("attrs") or {}).get("href", "")
    if link is not None:
        text = f"[{link}]" if text == link else f"[{text}|{link}]"
    return text


# -- rendering -----------------------------------------------------------------------------------------
def wiki_to_html(text: str) -> str:
    """What ``expand=renderedFields`` shows: good enough for a human, not a full wiki renderer."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br/>\n") + "</p>" for p in paragraphs)
