"""The stand-in's reading of a Workflows message: the envelope and the Adaptive Card essentials.

Only what a change notice can need is known here (TextBlock, FactSet, ColumnSet, Container and
Action.OpenUrl), with the enum values of the Adaptive Card schema; everything else is reported, so
a card the plugin builds wrongly fails a test instead of reaching a channel as a blank box. Each
problem names its place as a JSON pointer, like the schema validation errors Logic Apps returns.
Enum values compare without regard to case, as the Adaptive Card renderers do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5")

_SIZES = {"default", "small", "medium", "large", "extralarge"}
_WEIGHTS = {"default", "lighter", "bolder"}
_COLOURS = {"default", "dark", "light", "accent", "good", "warning", "attention"}
_STYLES = {"default", "emphasis", "good", "attention", "warning", "accent"}
_SPACINGS = {"default", "none", "small", "medium", "large", "extralarge", "padding"}
_ALIGNMENTS = {"left", "center", "right"}
_WIDTHS = {"auto", "stretch"}
MAX_DEPTH = 8

Problems = list[str]


def check_message(payload: Any) -> Problems:
    """Every problem with a posted message; empty when Teams would render it."""
    if not isinstance(payload, Mapping):
        return ["/: expected a JSON object (a message with attachments)"]
    problems: Problems = []
    if payload.get("type") != "message":
        problems.append(f"/type: expected \"message\", got {_show(payload.get('type'))}")
    attachments = payload.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        problems.append("/attachments: expected a non-empty array of card attachments")
        return problems
    for i, attachment in enumerate(attachments):
        where = f"/attachments/{i}"
        if not isinstance(attachment, Mapping):
            problems.append(f"{where}: expected an object")
            continue
        if attachment.get("contentType") != CONTENT_TYPE:
            problems.append(f"{where}/contentType: expected \"{CONTENT_TYPE}\", got "
                            f"{_show(attachment.get('contentType'))}")
        if attachment.get("contentUrl") is not None and not isinstance(attachment.get("contentUrl"), str):
            problems.append(f"{where}/contentUrl: expected null or a string")
        problems += check_card(attachment.get("content"), f"{where}/content")
    return problems


def check_card(card: Any, where: str = "") -> Problems:
    if not isinstance(card, Mapping):
        return [f"{where}: expected an AdaptiveCard object"]
    problems: Problems = []
    if card.get("type") != "AdaptiveCard":
        problems.append(f"{where}/type: expected \"AdaptiveCard\", got {_show(card.get('type'))}")
    version = card.get("version")
    if version not in VERSIONS:
        problems.append(f"{where}/version: expected one of {', '.join(VERSIONS)}, got {_show(version)}")
    if "$schema" in card and not isinstance(card["$schema"], str):
        problems.append(f"{where}/$schema: expected a string")
    body = card.get("body")
    if not isinstance(body, list) or not body:
        problems.append(f"{where}/body: expected a non-empty array of elements")
    else:
        problems += _elements(body, f"{where}/body", 0)
    actions = card.get("actions")
    if actions is not None:
        problems += _actions(actions, f"{where}/actions")
    teams = card.get("msteams")
    if teams is not None and (not isinstance(teams, Mapping)
                              or teams.get("width", "Full") not in ("Full", "full")):
        problems.append(f"{where}/msteams: expected {{\"width\": \"Full\"}}")
    return problems


def _elements(items: Any, where: str, depth: int) -> Problems:
    if not isinstance(items, list):
        return [f"{where}: expected an array of elements"]
    if depth > MAX_DEPTH:
        return [f"{where}: elements nested more than {MAX_DEPTH} deep"]
    problems: Problems = []
    for i, element in enumerate(items):
        path = f"{where}/{i}"
        if not isinstance(element, Mapping):
            problems.append(f"{path}: expected an element object")
            continue
        kind = element.get("type")
        check = _ELEMENTS.get(kind) if isinstance(kind, str) else None
        if check is None:
            problems.append(f"{path}/type: unknown element type {_show(kind)} (known: {', '.join(_ELEMENTS)})")
            continue
        problems += _common(element, path)
        problems += check(element, path, depth)
    return problems


def _common(element: Mapping[str, Any], path: str) -> Problems:
    problems = _enum(element, "spacing", _SPACINGS, path)
    if "separator" in element and not isinstance(element["separator"], bool):
        problems.append(f"{path}/separator: expected true or false")
    if "isVisible" in element and not isinstance(element["isVisible"], bool):
        problems.append(f"{path}/isVisible: expected true or false")
    return problems


def _text_block(element: Mapping[str, Any], path: str, depth: int) -> Problems:
    problems: Problems = []
    if not isinstance(element.get("text"), str):
        problems.append(f"{path}/text: required, a string")
    problems += _enum(element, "size", _SIZES, path)
    problems += _enum(element, "weight", _WEIGHTS, path)
    problems += _enum(element, "color", _COLOURS, path)
    problems += _enum(element, "horizontalAlignment", _ALIGNMENTS, path)
    for flag in ("wrap", "isSubtle"):
        if flag in element and not isinstance(element[flag], bool):
            problems.append(f"{path}/{flag}: expected true or false")
    if "maxLines" in element and not (isinstance(element["maxLines"], int) and element["maxLines"] >= 0):
        problems.append(f"{path}/maxLines: expected a whole number")
    return problems


def _fact_set(element: Mapping[str, Any], path: str, depth: int) -> Problems:
    facts = element.get("facts")
    if not isinstance(facts, list):
        return [f"{path}/facts: required, an array of {{title, value}}"]
    problems: Problems = []
    for i, fact in enumerate(facts):
        if not isinstance(fact, Mapping) or not isinstance(fact.get("title"), str) \
                or not isinstance(fact.get("value"), str):
            problems.append(f"{path}/facts/{i}: expected {{\"title\": string, \"value\": string}}")
    return problems


def _container(element: Mapping[str, Any], path: str, depth: int) -> Problems:
    problems = _enum(element, "style", _STYLES, path)
    if "bleed" in element and not isinstance(element["bleed"], bool):
        problems.append(f"{path}/bleed: expected true or false")
    if "items" not in element:
        return [*problems, f"{path}/items: required, an array of elements"]
    return problems + _elements(element["items"], f"{path}/items", depth + 1)


def _column_set(element: Mapping[str, Any], path: str, depth: int) -> Problems:
    problems = _enum(element, "style", _STYLES, path)
    columns = element.get("columns", [])
    if not isinstance(columns, list):
        return [*problems, f"{path}/columns: expected an array of Column objects"]
    for i, column in enumerate(columns):
        where = f"{path}/columns/{i}"
        if not isinstance(column, Mapping) or column.get("type", "Column") != "Column":
            problems.append(f"{where}: expected a Column object")
            continue
        problems += _enum(column, "style", _STYLES, where)
        width = column.get("width")
        if width is not None and not (isinstance(width, (int, float)) or str(width).lower() in _WIDTHS
                                      or str(width).endswith("px")):
            problems.append(f"{where}/width: expected auto, stretch, a weight or pixels such as \"50px\"")
        problems += _elements(column.get("items", []), f"{where}/items", depth + 1)
    return problems


def _actions(actions: Any, where: str) -> Problems:
    if not isinstance(actions, list):
        return [f"{where}: expected an array of actions"]
    problems: Problems = []
    for i, action in enumerate(actions):
        path = f"{where}/{i}"
        if not isinstance(action, Mapping):
            problems.append(f"{path}: expected an action object")
            continue
        if action.get("type") != "Action.OpenUrl":
            # Submit/Execute need a bot to answer them; a flow posts as the Workflows bot and cannot.
            problems.append(f"{path}/type: unsupported action type {_show(action.get('type'))} (known: Action.OpenUrl)")
            continue
        url = action.get("url")
        if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
            problems.append(f"{path}/url: required, an absolute http(s) URL, got {_show(url)}")
        if "title" in action and not isinstance(action["title"], str):
            problems.append(f"{path}/title: expected a string")
    return problems


def _enum(element: Mapping[str, Any], key: str, allowed: set[str], path: str) -> Problems:
    if key not in element:
        return []
    value = element[key]
    if isinstance(value, str) and value.lower() in allowed:
        return []
    return [f"{path}/{key}: expected one of {', '.join(sorted(allowed))}, got {_show(value)}"]


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"\"{value}\""
    return text if len(text) <= 60 else text[:57] + "..."


_ELEMENTS: dict[str, Callable[[Mapping[str, Any], str, int], Problems]] = {
    "TextBlock": _text_block,
    "FactSet": _fact_set,
    "ColumnSet": _column_set,
    "Container": _container,
}
