"""Request handlers, one module per area of the REST API; importing them registers their routes."""

from . import comments, issues, meta, remotelinks, search, webhooks, workflows

__all__ = ["comments", "issues", "meta", "remotelinks", "search", "webhooks", "workflows"]
