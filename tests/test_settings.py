"""chgsync.settings: a component's settings checked, secrets from the environment, errors as ConfigError."""

from __future__ import annotations

from pathlib import Path
from typing import Self

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from chgsync.daemon.config import Secret, resolve
from chgsync.errors import ConfigError
from chgsync.settings import CaBundle, SettingError, http_url, parse_settings, resolve_env

TOKEN = "xoxb-0123456789-abcdef"


class Chat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: SecretStr
    channel: str = Field(min_length=1)
    base_url: str = "https://chat.example.com/api"
    retries: int = 0
    thread_with: str | None = None
    ca_file: CaBundle | None = None

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return http_url(v, example="https://chat.example.com/api")

    @model_validator(mode="after")
    def _threads_need_retries(self) -> Self:
        if self.thread_with is not None and self.retries == 0:
            raise SettingError("retries", "threading needs retries above 0")
        return self


def parse(settings: dict[str, object], environ: dict[str, str] | None = None) -> Chat:
    return parse_settings(Chat, settings, component="chat notifier", secrets={"token": "the chat bot token"},
                          environ=environ or {})


def problem_of(settings: dict[str, object], environ: dict[str, str] | None = None) -> tuple[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse(settings, environ)
    [problem] = caught.value.problems
    return problem.field, problem.message


def test_good_settings_become_the_model() -> None:
    chat = parse({"token": TOKEN, "channel": "#changes"})
    assert chat.token.get_secret_value() == TOKEN and chat.channel == "#changes"


def test_a_secret_comes_from_the_variable_its_env_key_names() -> None:
    chat = parse({"token_env": "CHAT_TOKEN", "channel": "#changes"}, {"CHAT_TOKEN": TOKEN})
    assert chat.token.get_secret_value() == TOKEN


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHGSYNC_TEST_CHAT_TOKEN", TOKEN)
    chat = parse_settings(Chat, {"token_env": "CHGSYNC_TEST_CHAT_TOKEN", "channel": "#c"},
                          component="chat notifier", secrets=["token"])
    assert chat.token.get_secret_value() == TOKEN


def test_an_unset_variable_names_the_key_what_it_should_hold_and_the_component() -> None:
    field, message = problem_of({"token_env": "CHAT_TOKEN", "channel": "#changes"})
    assert field == "token_env"
    assert message == "the environment variable 'CHAT_TOKEN' is not set; it should hold the chat bot token " \
                      "(chat notifier)."


def test_a_variable_name_that_is_not_text_is_refused_the_same_way() -> None:
    field, message = problem_of({"token_env": None, "channel": "#changes"})
    assert field == "token_env" and "None is not set" in message


def test_a_secret_given_both_ways_is_refused() -> None:
    field, message = problem_of({"token": TOKEN, "token_env": "CHAT_TOKEN", "channel": "#c"},
                                {"CHAT_TOKEN": TOKEN})
    assert field == "token_env" and message == "give token or token_env, not both (chat notifier)."


def test_only_the_named_secrets_come_from_the_environment() -> None:
    field, message = problem_of({"token": TOKEN, "channel": "#c", "thread_with_env": "TS"}, {"TS": "1.2"})
    assert field == "thread_with_env" and message.startswith("unknown field")


@pytest.mark.parametrize(("settings", "field", "words"), [
    ({"channel": "#c"}, "token", "required"),
    ({"token": TOKEN, "channel": ""}, "channel", "at least 1 character"),
    ({"token": TOKEN, "channel": "#c", "chanel": "#d"}, "chanel", "unknown field; expected one of: base_url"),
    ({"token": TOKEN, "channel": "#c", "retries": "many"}, "retries", "'many'"),
    ({"token": TOKEN, "channel": "#c", "base_url": "chat.example.com"}, "base_url",
     "expected an http:// or https:// URL such as https://chat.example.com/api, got 'chat.example.com'"),
    ({"token": TOKEN, "channel": "#c", "base_url": "https://chat.example.com/a b"}, "base_url", "http://"),
    ({"token": TOKEN, "channel": "#c", "ca_file": "/nonexistent/ca.pem"}, "ca_file", "not a file"),
])
def test_each_bad_setting_is_a_problem_naming_it_and_the_component(settings: dict[str, object], field: str,
                                                                   words: str) -> None:
    got_field, message = problem_of(settings)
    assert got_field == field
    assert words in message and message.endswith("(chat notifier).")


def test_every_bad_setting_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"token": TOKEN, "channel": "", "retries": "x"})
    assert [p.field for p in caught.value.problems] == ["channel", "retries"]


def test_a_whole_model_check_names_its_setting() -> None:
    assert problem_of({"token": TOKEN, "channel": "#c", "thread_with": "ts"}) == (
        "retries", "threading needs retries above 0 (chat notifier).")


def test_a_whole_model_check_of_a_nested_model_is_named_below_it() -> None:
    class Team(BaseModel):
        chat: Chat

    with pytest.raises(ConfigError) as caught:
        parse_settings(Team, {"chat": {"token": TOKEN, "channel": "#c", "thread_with": "ts"}},
                       component="team")
    assert [p.field for p in caught.value.problems] == ["chat.retries"]


def test_no_message_repeats_a_secret() -> None:
    # The token pasted into the wrong setting too: pydantic quotes that setting's value back.
    with pytest.raises(ConfigError) as caught:
        parse({"token_env": "CHAT_TOKEN", "channel": "#c", "retries": TOKEN}, {"CHAT_TOKEN": TOKEN})
    [problem] = caught.value.problems
    assert problem.field == "retries" and "'***'" in problem.message
    assert TOKEN not in str(caught.value)


def test_a_ca_bundle_that_exists_is_kept(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert parse({"token": TOKEN, "channel": "#c", "ca_file": str(bundle)}).ca_file == bundle


@pytest.mark.parametrize("url", ["https://chat.example.com", "http://127.0.0.1:8080/api/", "https://h/x?y=1"])
def test_http_urls_are_accepted_as_written(url: str) -> None:
    assert http_url(url, example="https://x") == url


@pytest.mark.parametrize("url", ["chat.example.com", "ftp://chat.example.com", "https://", "https:///path",
                                 "https://chat.example.com/a b", " https://chat.example.com"])
def test_other_urls_are_refused_with_the_example(url: str) -> None:
    with pytest.raises(ValueError, match="such as https://example.org"):
        http_url(url, example="https://example.org")


# -- resolve_env, which the daemon shares ------------------------------------------------------------------
def test_resolve_env_without_keys_resolves_every_env_key_and_keeps_the_rest_in_order() -> None:
    resolved, problems = resolve_env({"a": 1, "url_env": "URL", "b": 2, "user_env": "USER"},
                                     environ={"URL": "https://x", "USER": "bot"})
    assert problems == []
    assert list(resolved.items()) == [("a", 1), ("url", "https://x"), ("b", 2), ("user", "bot")]


def test_resolve_env_returns_every_problem_with_its_place() -> None:
    _, problems = resolve_env({"url": "u", "url_env": "URL", "user_env": "NOPE"}, environ={"URL": "x"},
                              where="notifiers.hook.")
    assert [(p.field, p.message) for p in problems] == [
        ("notifiers.hook.url_env", "give url or url_env, not both."),
        ("notifiers.hook.user_env", "the environment variable 'NOPE' is not set; it should hold user."),
    ]


def test_the_daemon_and_a_component_say_the_same_about_an_unset_variable() -> None:
    with pytest.raises(ConfigError) as daemon:
        resolve("notifiers", "chat", {"token_env": "CHAT_TOKEN", "channel": "#c"}, "chgsync.yaml", environ={})
    with pytest.raises(ConfigError) as component:
        parse_settings(Chat, {"token_env": "CHAT_TOKEN", "channel": "#c"}, component="chat notifier",
                       secrets=["token"], environ={})

    [said_by_daemon], [said_by_component] = daemon.value.problems, component.value.problems
    assert said_by_daemon.field == "notifiers.chat.token_env" and said_by_component.field == "token_env"
    assert said_by_component.message == said_by_daemon.message.removesuffix(".") + " (chat notifier)."


def test_the_daemon_hides_resolved_secrets_and_refuses_written_ones() -> None:
    settings = resolve("notifiers", "chat", {"token_env": "CHAT_TOKEN", "channel": "#c"}, "chgsync.yaml",
                       environ={"CHAT_TOKEN": TOKEN})
    assert isinstance(settings["token"], Secret) and TOKEN not in repr(settings)
    assert parse(settings).token.get_secret_value() == TOKEN  # what the daemon hands over parses as is

    with pytest.raises(ConfigError) as caught:
        resolve("notifiers", "chat", {"token": TOKEN, "url": "u", "url_env": "URL"}, "chgsync.yaml",
                environ={"URL": "x"})
    assert [p.field for p in caught.value.problems] == ["notifiers.chat.token", "notifiers.chat.url_env"]
