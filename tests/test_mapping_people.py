"""Mapping files say which fields hold a person (``remote_type: user``): one e-mail address as text."""

from __future__ import annotations

from pathlib import Path

import pytest

from chgsync.errors import MappingError
from chgsync.mapping import load_mapping, shipped_mapping

SHIPPED = ["jira-service-management", "jira-software", "servicenow-change-request"]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_mapping_carries_the_implementer_and_the_requester(name: str) -> None:
    mapping = load_mapping(shipped_mapping(name))
    people = {f.canonical: f for f in mapping.fields if f.is_user}
    assert set(people) == {"implementer", "requester"}
    assert all(f.codec == "text" and f.owner == "both" for f in people.values())


def _with_field(tmp_path: Path, lines: list[str]) -> Path:
    text = shipped_mapping("servicenow-change-request").read_text()
    anchor = "  - canonical: close_notes\n    remote: close_notes\n"
    assert anchor in text
    path = tmp_path / "people.yaml"
    path.write_text(text.replace(anchor, anchor + "\n".join(lines) + "\n"))
    return path


@pytest.mark.parametrize(("lines", "message"), [
    (["  - canonical: implementation.systems", "    remote: watch_list", "    remote_type: user"],
     "needs a canonical text field such as implementer or requester; 'implementation.systems' is not text"),
    (["  - canonical: emergency.authorizer", "    remote: cab_delegate", "    codec: lines", "    remote_type: user"],
     "holds one e-mail address as text; codec must be text, not 'lines'"),
])
def test_a_user_field_must_be_one_address(tmp_path: Path, lines: list[str], message: str) -> None:
    path = _with_field(tmp_path, lines)
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    text = str(info.value)
    assert message in text and f"{path}:" in text and "field 'fields[" in text


def test_any_text_field_may_hold_a_person(tmp_path: Path) -> None:
    path = _with_field(tmp_path, ["  - canonical: emergency.authorizer", "    remote: cab_delegate",
                                  "    remote_type: user"])
    assert load_mapping(path).field("emergency.authorizer").is_user  # type: ignore[union-attr]
