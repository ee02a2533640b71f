"""The data a fresh emulator starts with, written as a seed document so it goes through the same checks.

sys_ids are derived from table and name, so they are the same on every start (handy in a debugger),
but tests should look records up by name as they would on a real instance. The change tables start
empty: tests create the changes they reason about.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .schema import CHG_MODEL_IDS


def stable_id(table: str, key: str) -> str:
    return hashlib.md5(f"{table}:{key}".encode()).hexdigest()


USERS = (
    # user_name, first, last, title
    ("admin", "System", "Administrator", "System Administrator"),
    ("abel.tuter", "Abel", "Tuter", "Change Manager"),
    ("beth.anglin", "Beth", "Anglin", "CAB Member"),
    ("bow.ruggeri", "Bow", "Ruggeri", "CAB Member"),
    ("david.loo", "David", "Loo", "Change Management Lead"),
    ("fred.luddy", "Fred", "Luddy", "Network Engineer"),
    ("christen.mitchell", "Christen", "Mitchell", "Database Administrator"),
    # the people chgsync's tests name (chgsync.testing.samples; the e2e tests' Jira user), so that a
    # change's requester and implementer resolve here as they do in the Jira emulator
    ("dana", "Dana", "Whitfield", "Service Owner"),
    ("sam", "Sam", "Okafor", "Site Reliability Engineer"),
    ("pat.person", "Pat", "Person", "Service Owner"),
)

GROUPS = (
    # name, manager user_name, members, description
    (
        "CAB Approval",
        "abel.tuter",
        ("abel.tuter", "beth.anglin", "bow.ruggeri"),
        "Change Advisory Board: approves normal and emergency changes in Authorize.",
    ),
    (
        "Change Management",
        "david.loo",
        ("david.loo", "abel.tuter"),
        "Owns the change process; approves in Assess when the assignment group has no manager.",
    ),
    ("Network", "fred.luddy", ("fred.luddy",), "Routers, firewalls, load balancers."),
    ("Database", "christen.mitchell", ("christen.mitchell",), "Database administration."),
    (
        "Application Development",
        "beth.anglin",
        ("beth.anglin", "bow.ruggeri"),
        "Builds and runs the services.",
    ),
)

CIS = (
    # name, category, support group, description
    ("payments-api", "Software", "Application Development", "Payments API service"),
    ("orders-db", "Database", "Database", "Orders PostgreSQL cluster"),
    ("web-frontend", "Software", "Application Development", "Customer-facing web front end"),
    ("core-router-01", "Network", "Network", "Data-centre core router"),
)


def default_seed(api_user: str) -> dict[str, Any]:
    """The default data set; ``api_user`` gets a sys_user row so references to the caller resolve."""
    users = [
        {
            "sys_id": stable_id("sys_user", u),
            "user_name": u,
            "first_name": f,
            "last_name": last,
            "title": title,
            "email": f"{u}@example.com",
        }
        for u, f, last, title in USERS
    ]
    if api_user not in {u for u, *_ in USERS}:
        users.append(
            {
                "sys_id": stable_id("sys_user", api_user),
                "user_name": api_user,
                "first_name": api_user,
                "title": "Integration user",
            }
        )
    groups = [
        {
            "sys_id": stable_id("sys_user_group", name),
            "name": name,
            "manager": stable_id("sys_user", mgr),
            "description": desc,
            "email": f"{name.lower().replace(' ', '-')}@example.com",
        }
        for name, mgr, _, desc in GROUPS
    ]
    members = [
        {
            "sys_id": stable_id("sys_user_grmember", f"{name}/{u}"),
            "group": stable_id("sys_user_group", name),
            "user": stable_id("sys_user", u),
        }
        for name, _, us, _ in GROUPS
        for u in us
    ]
    cis = [
        {
            "sys_id": stable_id("cmdb_ci", name),
            "name": name,
            "category": cat,
            "short_description": desc,
            "support_group": stable_id("sys_user_group", grp),
            "environment": "Production",
        }
        for name, cat, grp, desc in CIS
    ]
    models = [
        {"sys_id": sid, "name": kind.capitalize(), "description": f"Out-of-box {kind} change model"}
        for kind, sid in CHG_MODEL_IDS.items()
    ]
    return {
        "tables": {
            "sys_user": users,
            "sys_user_group": groups,
            "sys_user_grmember": members,
            "cmdb_ci": cis,
            "chg_model": models,
        }
    }
