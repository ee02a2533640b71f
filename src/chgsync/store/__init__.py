"""Durable state: canonical changes, links, cursors, the inbox, the outbox, echoes, audit.

SQLAlchemy Core over an embedded SQLite file by default, or PostgreSQL by URL. The schema is
owned by Alembic migrations (``chgsync db upgrade``).
"""

from .store import ConcurrentUpdate, Fence, InboxItem, LeaseLost, OutboxItem, SchemaMismatch, Store

__all__ = ["ConcurrentUpdate", "Fence", "InboxItem", "LeaseLost", "OutboxItem", "SchemaMismatch", "Store"]
