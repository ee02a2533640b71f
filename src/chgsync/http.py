"""A remote's HTTP answer, or its silence, as chgsync's error: read the same way in every plugin.

Why one place: the outbox decides from the error alone whether to retry, how long to wait first
and when to give up (:attr:`~chgsync.errors.RemoteError.retryable`,
:attr:`~chgsync.errors.RateLimited.retry_after`). So every notifier and sink must say the same
thing the same way: a rate-limit status is :class:`~chgsync.errors.RateLimited` carrying the
remote's advice on when to come back; any other failed status a
:class:`~chgsync.errors.RemoteError` carrying that status (5xx retryable, 4xx final); no answer at
all a RemoteError without a status, which is retryable. What the remote said (its error body) is
each plugin's to read, since every product words it differently.

These take a status and headers rather than a response object, so they serve requests, urllib,
slack-sdk and generated API clients alike.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import requests

from .errors import RateLimited, RemoteError
from .retry import parse_retry_after

#: How a plugin's RemoteError subclass is built: (system, operation, status, remote_message).
ErrorClass = Callable[[str, str, "int | None", str], RemoteError]


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """``name``'s value in ``headers``, whatever the case of either (field names are case-insensitive)."""
    if not headers:
        return None
    wanted = name.lower()
    return next((str(v) for k, v in headers.items() if k.lower() == wanted), None)


def retry_after(headers: Mapping[str, str] | None, name: str = "Retry-After") -> float | None:
    """Seconds the remote asks to wait, from ``name`` (delta-seconds or an HTTP date), if it says."""
    return parse_retry_after(header(headers, name))


def status_error(system: str, operation: str, status: int | None, message: str,
                 headers: Mapping[str, str] | None = None, *, rate_limits: Collection[int] = (429,),
                 retry_after_header: str = "Retry-After", default_retry_after: float | None = None,
                 error: ErrorClass = RemoteError) -> RemoteError:
    """The error for a failed answer: RateLimited for a status in ``rate_limits``, else ``error``.

    ``message`` is the remote's own words (with any advice the plugin adds). A RateLimited waits
    what ``retry_after_header`` says, or ``default_retry_after`` when the remote gives no advice
    (some document a pause instead). ``status`` None stands for an answer that is no HTTP failure
    but cannot be used (an error envelope in a 200): retryable, like no answer.
    """
    if status is not None and status in rate_limits:
        wait = retry_after(headers, retry_after_header)
        wait = default_retry_after if wait is None else wait
        return RateLimited(system, operation, message, retry_after=wait)
    return error(system, operation, status, message)


def no_answer(system: str, operation: str, exc: BaseException, *, where: str | None = None,
              timeout: float | None = None, mask: Callable[[str], str] | None = None) -> RemoteError:
    """The error for a call that got no HTTP answer (refused, reset, timed out, TLS failed).

    The message names ``where`` (default: ``system``), the wait when it ran out (``timeout``, the
    seconds the plugin allowed) and the exception's class, which tells a timeout from a refused
    connection. ``mask`` cleans the exception's text first, for clients that put a secret-bearing
    URL into it.
    """
    text = mask(str(exc)) if mask else str(exc)
    waited = f" within {timeout:g} s" if timeout is not None and _timed_out(exc) else ""
    return RemoteError(system, operation, None,
                       f"no answer from {where or system}{waited} ({type(exc).__name__}: {text}).")


def _timed_out(exc: BaseException) -> bool:
    # urllib wraps the socket's timeout in a URLError's reason.
    reason = getattr(exc, "reason", None)
    return isinstance(exc, (TimeoutError, requests.Timeout)) or isinstance(reason, TimeoutError)
