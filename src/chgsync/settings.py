"""Settings of a plugin component: checked, secrets from the environment, errors as ConfigError.

Every notifier, marker sink and metric backend gets its section of the daemon's configuration as a
plain mapping and must turn it into something typed, or stop the daemon at start-up with a message
that names each bad key. Doing that in one place keeps three promises the same for every plugin:

- a secret never has to be written down: ``<key>_env`` names the environment variable holding
  ``<key>``. The daemon resolves these before it calls a factory (:func:`chgsync.daemon.config.resolve`
  uses :func:`resolve_env` below); :func:`parse_settings` resolves a component's own secrets the same
  way, so a script or a test that builds the component from a raw section gets the same result and
  the same messages;
- every problem is a :class:`~chgsync.errors.ConfigError` naming the setting and the component, never
  a pydantic traceback, and a check of the whole model can still name its setting
  (:class:`SettingError`);
- no message repeats a secret's value.

A plugin's settings module is then a pydantic model and one call::

    def parse_settings(settings: Mapping[str, Any]) -> SlackSettings:
        return chgsync.settings.parse_settings(SlackSettings, settings, component="slack notifier",
                                               secrets={"token": "a Slack bot token"})
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, SecretStr, ValidationError

from .errors import ConfigError, Problem
from .files import problems_from

M = TypeVar("M", bound=BaseModel)

ENV_SUFFIX = "_env"
#: Secrets shorter than this are not masked in messages: hiding "ab" everywhere would garble the text.
MASK_MIN = 8

_HTTP_URL = re.compile(r"^https?://[^/\s?#]+")


class SettingError(ValueError):
    """Raise from a model validator to name the setting at fault.

    pydantic names no field for a check of the whole model (``panel_id needs dashboard_uid``);
    :func:`parse_settings` puts ``setting`` on the problem instead, below the model's own place.
    """

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


def resolve_env(settings: Mapping[str, Any], keys: Collection[str] | None = None, *,
                environ: Mapping[str, str] | None = None, where: str = "",
                component: str | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """``settings`` with each ``<key>_env`` replaced by ``<key>``: the value of the variable it names.

    ``keys`` are the keys that may come from the environment; ``None`` means every key ending in
    ``_env`` (the daemon's rule). A mapping of keys to what their variable holds ("a Slack bot
    token") makes a missing variable's message say so. Giving both ``<key>`` and ``<key>_env``, or
    naming a variable that is not set, is a problem; problems are returned rather than raised so a
    caller can report them together with its own. ``where`` is put before each problem's field.
    """
    env = os.environ if environ is None else environ
    wanted = None if keys is None else {f"{k}{ENV_SUFFIX}": k for k in keys}
    suffix = f" ({component})" if component else ""
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in settings.items():
        target = key[: -len(ENV_SUFFIX)] if key.endswith(ENV_SUFFIX) else None
        if target is None or (wanted is not None and key not in wanted):
            out[key] = value
            continue
        if target in settings:
            problems.append(Problem(f"{where}{key}", f"give {target} or {key}, not both{suffix}."))
            continue
        if not isinstance(value, str) or value not in env:
            holds = keys.get(target, target) if isinstance(keys, Mapping) else target
            problems.append(Problem(f"{where}{key}", f"the environment variable {value!r} is not set; it "
                                                     f"should hold {holds}{suffix}."))
            continue
        out[target] = env[value]
    return out, problems


def parse_settings(model: type[M], settings: Mapping[str, Any], *, component: str,
                   secrets: Collection[str] = (), environ: Mapping[str, str] | None = None) -> M:
    """``settings`` as ``model``, or a :class:`ConfigError` naming every bad setting of ``component``.

    ``component`` ends each message ("slack notifier"), so a person with several notifiers knows
    which one to fix. ``secrets`` are the keys that may be given as ``<key>_env`` (a mapping to
    what each holds words the message for an unset variable, see :func:`resolve_env`); their
    values are masked in every message. ``environ`` defaults to the process environment.
    """
    resolved, problems = resolve_env(settings, secrets, environ=environ, component=component)
    if problems:
        raise ConfigError(None, problems)
    try:
        return model.model_validate(resolved)
    except ValidationError as exc:
        hidden = [_secret_text(resolved.get(key)) for key in secrets]
        raise ConfigError(None, config_problems(exc, model, component=component, hidden=hidden)) from None


def config_problems(exc: ValidationError, model: type[BaseModel], *, component: str,
                    hidden: Collection[str | None] = ()) -> list[Problem]:
    """``exc`` as problems that name their setting and ``component`` and repeat none of ``hidden``."""
    problems: list[Problem] = []
    for error, problem in zip(exc.errors(), problems_from(exc, model, {}), strict=True):
        field = problem.field
        named = (error.get("ctx") or {}).get("error")
        if isinstance(named, SettingError):
            field = f"{field}.{named.setting}" if field else named.setting
        sentence = f"{problem.message.removesuffix('.')} ({component})."
        problems.append(Problem(field, _masked(sentence, hidden)))
    return problems


def http_url(value: str, *, example: str) -> str:
    """``value`` when it is an http:// or https:// URL with a host and no white space.

    For a field validator: the ValueError shows ``example``, the form a person should write.
    """
    if not _HTTP_URL.match(value) or any(c.isspace() for c in value):
        raise ValueError(f"expected an http:// or https:// URL such as {example}, got {value!r}")
    return value


def _ca_bundle(path: Path) -> Path:
    if not path.is_file():
        raise ValueError(f"expected a PEM file of CA certificates, but {str(path)!r} is not a file")
    return path


#: A file of PEM CA certificates that must exist at start-up (a ``ca_file`` setting), rather than
#: fail the first TLS handshake, possibly long after.
CaBundle = Annotated[Path, AfterValidator(_ca_bundle)]


def _secret_text(value: Any) -> str | None:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value if isinstance(value, str) else None


def _masked(text: str, hidden: Collection[str | None]) -> str:
    for secret in hidden:
        if secret and len(secret) >= MASK_MIN:
            text = text.replace(secret, "***")
    return text
