"""chgsync.http: an HTTP answer, or none, becomes the error the outbox decides on."""

from __future__ import annotations

import socket
import urllib.error

import pytest
import requests

from chgsync.errors import RateLimited, RemoteError
from chgsync.http import header, no_answer, retry_after, status_error


class Refused(RemoteError):
    pass


def test_header_lookup_ignores_case() -> None:
    assert header({"retry-after": "7"}, "Retry-After") == "7"
    assert header({"RETRY-AFTER": "7"}, "retry-after") == "7"
    assert header(None, "Retry-After") is None and header({}, "Retry-After") is None


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"Retry-After": "12"}, 12.0),
    ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past: go now
    ({"Retry-After": "soon"}, None),
    ({}, None),
])
def test_retry_after_reads_seconds_or_a_date(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after(headers) == seconds


def test_429_is_rate_limited_with_the_remotes_advice() -> None:
    error = status_error("Acme", "post", 429, "slow down", {"retry-after": "30"})
    assert isinstance(error, RateLimited) and error.retryable
    assert (error.status, error.retry_after, error.remote_message) == (429, 30.0, "slow down")


def test_a_rate_limit_without_advice_waits_the_documented_default() -> None:
    error = status_error("Acme", "post", 429, "slow down", {}, default_retry_after=30.0)
    assert isinstance(error, RateLimited) and error.retry_after == 30.0
    assert isinstance(status_error("Acme", "post", 429, "x"), RateLimited)


def test_other_rate_limit_statuses_and_headers_can_be_named() -> None:
    error = status_error("Acme", "post", 420, "HTTP 420: enhance your calm", {"X-RateLimit-Reset": "9"},
                         rate_limits={420, 429}, retry_after_header="X-RateLimit-Reset")
    assert isinstance(error, RateLimited) and error.retry_after == 9.0


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (400, False), (401, False),
                                                   (404, False), (None, True)])
def test_any_other_answer_is_a_remote_error_carrying_its_status(status: int | None, retryable: bool) -> None:
    error = status_error("Acme", "post", status, "it broke", {"Retry-After": "5"})
    assert type(error) is RemoteError
    assert error.status == status and error.retryable is retryable
    assert str(error).startswith("Acme post failed") and error.remote_message == "it broke"


def test_a_plugins_own_error_class_is_used_for_the_rest() -> None:
    assert isinstance(status_error("Acme", "post", 410, "gone", error=Refused), Refused)
    assert isinstance(status_error("Acme", "post", 429, "slow", error=Refused), RateLimited)


def test_no_answer_is_retryable_and_names_where_and_why() -> None:
    error = no_answer("Acme", "post", requests.ConnectionError("refused"), where="https://acme.example")
    assert error.status is None and error.retryable
    assert error.remote_message == "no answer from https://acme.example (ConnectionError: refused)."
    bare = no_answer("Acme", "post", OSError("reset"))
    assert bare.remote_message == "no answer from Acme (OSError: reset)."


@pytest.mark.parametrize("exc", [requests.ReadTimeout("read timed out"), socket.timeout("timed out"),
                                 urllib.error.URLError(TimeoutError("timed out"))])
def test_a_timeout_says_how_long_was_waited(exc: BaseException) -> None:
    assert "no answer from Acme within 2.5 s (" in no_answer("Acme", "post", exc, timeout=2.5).remote_message


def test_a_refusal_does_not_claim_a_wait() -> None:
    error = no_answer("Acme", "post", requests.ConnectionError("refused"), timeout=2.5)
    assert "within" not in error.remote_message


def test_no_answer_masks_what_the_plugin_masks() -> None:
    exc = requests.ConnectionError("https://acme.example/hook?sig=s3cr3t failed")
    error = no_answer("Acme", "post", exc, mask=lambda text: text.replace("s3cr3t", "***"))
    assert "s3cr3t" not in str(error) and "sig=***" in str(error)
