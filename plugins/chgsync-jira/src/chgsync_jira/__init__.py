"""chgsync support for Jira Cloud: the Jira adapter and a loopback Jira Cloud emulator, as a chgsync plugin."""

from .emulator import JiraEmulator

__all__ = ["JiraEmulator"]
