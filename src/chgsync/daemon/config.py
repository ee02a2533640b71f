"""The daemon's configuration file (YAML). Secrets come from environment variables, never the file.

Any key ending in ``_env`` names an environment variable whose value is used for the key without
the suffix (``token_env: JIRA_TOKEN`` gives the adapter ``token``). Resolved secrets are kept out of
``repr`` and logs.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..correlation import CorrelationSettings
from ..errors import ConfigError, Problem
from ..routing import Routing
from ..settings import resolve_env

SECRET_KEYS = frozenset({"token", "password", "secret", "webhook_secret", "api_key", "app_key", "webhook_url",
                         "routing_key", "signing_secret"})


class Listen(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(8400, ge=0, le=65535)


class ComponentConfig(BaseModel):
    """One adapter or notifier: ``type`` picks the plugin (default: the entry's name); the rest is its own."""

    model_config = ConfigDict(extra="allow")
    type: str | None = None


class RollbackWatch(BaseModel):
    """Watching implemented changes' rollback triggers (needs ``metric_backend``)."""

    model_config = ConfigDict(extra="forbid")
    every: timedelta = Field(timedelta(minutes=1), description="How often each watched trigger is evaluated.")
    watch: timedelta = Field(timedelta(hours=1), description="How long after implementation a change is watched "
                             "(and again whenever one of its validation points falls due).")
    step: timedelta = Field(timedelta(minutes=1), description="Sample spacing asked of the metric backend.")
    auto: bool = Field(False, description="Record the change as rolled back when its trigger holds, instead of "
                       "only recommending it.")


class DaemonConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: str = Field("sqlite:///chgsync.sqlite", description="SQLAlchemy URL: sqlite:///FILE or postgresql://...")
    listen: Listen = Field(default_factory=Listen)
    policy: Path | None = None
    poll_interval: timedelta = timedelta(seconds=60)
    poll_overlap: timedelta = timedelta(minutes=2)
    worker_interval: timedelta = timedelta(milliseconds=200)
    claim_lease: timedelta = Field(timedelta(minutes=2), description="How long a claim on work lasts before "
                                   "another replica may take it over (a process that died holds it until then).")
    max_body_bytes: int = 1_048_576
    adapters: dict[str, ComponentConfig] = Field(default_factory=dict)
    notifiers: dict[str, ComponentConfig] = Field(default_factory=dict)
    notifications: Routing = Field(default_factory=Routing, description="Who hears what, beyond the plans.")
    markers: dict[str, ComponentConfig] = Field(default_factory=dict, description="Deploy-marker sinks.")
    metric_backend: ComponentConfig | None = Field(None, description="Answers rollback-trigger queries.")
    rollback: RollbackWatch = Field(default_factory=RollbackWatch)
    correlation: CorrelationSettings = Field(default_factory=CorrelationSettings)
    alerts_token_env: str | None = Field(None, description="Environment variable holding the bearer token that "
                                         "Alertmanager and incident senders must present.")
    source: str = Field("", exclude=True)

    @field_validator("adapters", "notifiers", "markers")
    @classmethod
    def _names(cls, v: dict[str, ComponentConfig]) -> dict[str, ComponentConfig]:
        for name in v:
            if not name.replace("-", "_").isidentifier():
                raise ValueError(f"{name!r} is not a usable name (letters, digits, '-' and '_')")
        return v


class Secret(str):
    """A string that does not show itself in repr or logs."""

    def __repr__(self) -> str:
        return "'***'"


def resolve(section: str, name: str, raw: dict[str, Any], source: str,
            environ: dict[str, str] | None = None) -> dict[str, Any]:
    """A component's settings with ``*_env`` keys replaced by their environment values.

    The same resolution a plugin's :func:`chgsync.settings.parse_settings` does for its own secrets,
    applied to every ``*_env`` key; on top, a known secret written into the file is refused.
    """
    where = f"{section}.{name}."
    written = [key for key, value in raw.items() if key in SECRET_KEYS and value is not None]
    problems = [Problem(f"{where}{key}", f"secrets are not read from the config file; use {key}_env: "
                                         "VARIABLE_NAME.") for key in written]
    out, missing = resolve_env({k: v for k, v in raw.items() if k not in written}, environ=environ,
                               where=where)
    problems += missing
    if problems:
        raise ConfigError(source, problems)
    return {k: Secret(v) if k in SECRET_KEYS and isinstance(v, str) else v for k, v in out.items()}


def load_config(path: str | Path) -> DaemonConfig:
    from ..files import load_model

    config = load_model(Path(path), DaemonConfig, ConfigError)
    base = Path(path).resolve().parent
    updates: dict[str, Any] = {"source": str(path)}
    if config.policy is not None and not config.policy.is_absolute():
        updates["policy"] = base / config.policy
    if config.store.startswith("sqlite:///") and not config.store.startswith("sqlite:////"):
        updates["store"] = f"sqlite:///{base / config.store[len('sqlite:///'):]}"
    return config.model_copy(update=updates)


STARTER = """\
# chgsync daemon configuration. Secrets never go in this file: a key ending in _env names the
# environment variable that holds the value (token_env: JIRA_TOKEN gives the adapter its token).

# Where chgsync keeps its state. The default is an SQLite file beside this config; for several
# replicas use PostgreSQL: postgresql://chgsync@db.example.com/chgsync
store: sqlite:///chgsync.sqlite

# Webhook intake, /healthz, /readyz and /metrics.
listen:
  host: 127.0.0.1
  port: 8400

# The change policy (see `chgsync policy show`); leave out for the built-in one.
# policy: policy.yaml

# How often to reconcile with each system, and how far back each poll reaches: webhooks get lost,
# and Jira's `updated >=` has minute precision, so polls overlap and duplicates are dropped.
poll_interval: PT60S
poll_overlap: PT2M

adapters:
  jira:
    url: https://your-site.atlassian.net
    user: chgsync-bot@example.com
    token_env: JIRA_API_TOKEN
    webhook_secret_env: JIRA_WEBHOOK_SECRET
    mapping: mappings/jira-service-management.yaml
  servicenow:
    url: https://your-instance.service-now.com
    user: chgsync.integration
    password_env: SERVICENOW_PASSWORD
    webhook_secret_env: SERVICENOW_WEBHOOK_SECRET
    mapping: mappings/servicenow-change-request.yaml

# Channels (each a plugin: slack, email, teams, statuspage, webhook). Each change's communication
# plan picks channels by kind; routes add more per event, change type and environment.
# notifiers:
#   slack:
#     channel: "#changes"
#     token_env: SLACK_BOT_TOKEN
# notifications:
#   routes:
#     - events: [implementation_started, implementation_completed, rollback, rollback_recommended]
#       channels: [slack]

# Deploy markers (datadog, pushgateway, grafana, pagerduty) and the backend for rollback triggers.
# markers:
#   datadog:
#     api_key_env: DD_API_KEY
# metric_backend:
#   type: prometheus
#   url: http://prometheus.example.com:9090
"""
