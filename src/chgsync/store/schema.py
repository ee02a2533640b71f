"""The store's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them.

Every row that a worker claims (inbox, outbox) carries ``claimed_by``/``lease_until`` so that a
replica that dies mid-work leaves a claim that expires instead of a row that is stuck.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements only INTEGER PRIMARY KEY
When = DateTime(timezone=True)

changes = Table(
    "changes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("type", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", When, nullable=False),
    Column("updated_at", When, nullable=False),
)

links = Table(
    "links",
    metadata,
    Column("system", String(32), primary_key=True),
    Column("remote_id", String(128), primary_key=True),
    Column("change_id", String(64), nullable=False, index=True),
    Column("remote_key", String(128), nullable=False),
    Column("url", Text, nullable=False, default=""),
    Column("remote_version", String(64), nullable=False, default=""),
    Column("baseline", JSON, nullable=False, default=dict),
    Column("updated_at", When, nullable=False),
    UniqueConstraint("change_id", "system", name="uq_links_change_system"),
)

cursors = Table(
    "cursors",
    metadata,
    Column("system", String(32), primary_key=True),
    Column("position", When, nullable=True),
    Column("updated_at", When, nullable=False),
)

inbox = Table(
    "inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("system", String(32), nullable=False),
    Column("delivery_id", String(200), nullable=False),
    Column("source", String(16), nullable=False),  # webhook | poll
    Column("received_at", When, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", When, nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("lease_until", When, nullable=True),
    Column("error", Text, nullable=True),
    Column("done_at", When, nullable=True),
    UniqueConstraint("system", "delivery_id", name="uq_inbox_delivery"),
    Index("ix_inbox_status_next", "status", "next_attempt_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("change_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("target", String(64), nullable=False),
    # Items keep their order within a change's lane: ticket writes in one, each channel and marker
    # sink in its own, so a Slack outage holds back Slack messages, not Jira writes.
    Column("lane", String(96), nullable=False, server_default="tickets"),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", When, nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("lease_until", When, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", When, nullable=False),
    Column("done_at", When, nullable=True),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
    Index("ix_outbox_change", "change_id", "id"),
    Index("ix_outbox_change_lane", "change_id", "lane", "id"),
)

threads = Table(
    "threads",
    metadata,
    # What a channel or sink returned for its first message or marker about a change (a Slack ts,
    # a Statuspage incident, an annotation id): later ones reply to it or update it.
    Column("change_id", String(64), primary_key=True),
    Column("channel", String(96), primary_key=True),
    Column("thread_id", String(200), nullable=False),
    Column("created_at", When, nullable=False),
)

correlations = Table(
    "correlations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("alert_key", String(200), nullable=False),
    Column("change_id", String(64), nullable=False, index=True),
    Column("score", Float, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("alert", JSON, nullable=False),
    Column("at", When, nullable=False),
    UniqueConstraint("alert_key", "change_id", name="uq_correlations_alert_change"),
)

echoes = Table(
    "echoes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("system", String(32), nullable=False),
    Column("remote_id", String(128), nullable=False),
    Column("remote_version", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_at", When, nullable=False),
    UniqueConstraint("system", "remote_id", "remote_version", name="uq_echoes_version"),
)

obligations = Table(
    "obligations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("change_id", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("due_at", When, nullable=False),
    Column("status", String(16), nullable=False, default="open"),
    Column("detail", JSON, nullable=False, default=dict),
    Column("updated_at", When, nullable=False),
    Index("ix_obligations_status_due", "status", "due_at"),  # the due/overdue gauges, read on every scrape
)

deployments = Table(
    "deployments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("change_id", String(64), nullable=False, index=True),
    Column("phase", String(16), nullable=False),
    Column("service", String(128), nullable=False),
    Column("environment", String(64), nullable=False),
    Column("outcome", String(32), nullable=True),
    Column("at", When, nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", When, nullable=False),
    Column("change_id", String(64), nullable=True, index=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", JSON, nullable=False, default=dict),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("until", When, nullable=False),
    Column("generation", Integer, nullable=False),
)
