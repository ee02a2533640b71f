"""Fixtures for the Jira emulator's own tests: a real ``jira`` client, a raw HTTP session, and the
official Cloud OpenAPI description to check responses against."""

from __future__ import annotations

import copy
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from chgsync_jira.emulator import JiraEmulator
from chgsync_jira.emulator.routing import Route, match
from jira import JIRA
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_HOST = "https://your-domain.atlassian.net"


def _spec_path() -> Path:
    configured = os.environ.get("CHGSYNC_JIRA_OPENAPI")
    if configured:
        return Path(configured)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "specs" / "jira-cloud-platform-openapi.json"
        if candidate.exists():
            return candidate
    return Path("/work/shared/specs/jira-cloud-platform-openapi.json")


# Where Jira Cloud and its own description disagree, the product wins; each patch says why.
def _patch_spec(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    # Changelog items carry null from/to (e.g. a field set for the first time); the schema says string.
    for prop in ("from", "fromString", "to", "toString"):
        schemas["ChangeDetails"]["properties"][prop]["nullable"] = True
    # GET .../remotelink without globalId answers a list of links, not one link.
    link = {"$ref": "#/components/schemas/RemoteIssueLink"}
    get_links = spec["paths"]["/rest/api/3/issue/{issueIdOrKey}/remotelink"]["get"]["responses"]["200"]
    get_links["content"]["application/json"]["schema"] = {"oneOf": [link, {"type": "array", "items": link}]}
    return spec


class SpecRequest:
    """The request side openapi-core needs, with the path moved onto the description's server."""

    def __init__(self, method: str, url: str, body: bytes | None = None) -> None:
        parts = urlsplit(url)
        self.method = method.lower()
        self.host_url = SPEC_HOST
        self.path = parts.path.replace("/rest/api/2/", "/rest/api/3/").replace(
            "/rest/api/latest/", "/rest/api/3/"
        )
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(parts.query, keep_blank_values=True)),
            header=Headers({}),
            cookie=ImmutableMultiDict({}),
        )
        self.body = body
        self.content_type = "application/json"


class SpecResponse:
    def __init__(self, resp: requests.Response) -> None:
        self.status_code = resp.status_code
        self.data = resp.content
        self.content_type = (resp.headers.get("Content-Type") or "application/json").split(";")[0]
        self.headers = Headers(dict(resp.headers))


class SpecChecker:
    """Validates emulator responses against the description and remembers which routes were covered."""

    def __init__(self, api: OpenAPI) -> None:
        self.api = api
        self.covered: dict[Route, list[int]] = {}
        self.unspecified: dict[Route, list[int]] = {}

    def check(self, resp: requests.Response) -> requests.Response:
        request = resp.request
        assert request.method is not None and request.url is not None
        found = match(request.method, urlsplit(request.url).path)
        assert found is not None, f"no emulator route for {request.method} {request.url}"
        route, _ = found
        if route.spec is None:
            self.unspecified.setdefault(route, []).append(resp.status_code)
            return resp
        body = request.body.encode() if isinstance(request.body, str) else request.body
        if resp.status_code == 204 or (resp.status_code == 202 and not resp.content):
            # The description gives these application/json content without a schema; Jira sends no body.
            assert not resp.content, f"{route.name}: {resp.status_code} with a body"
            operation = self.api.spec / "paths" / route.spec / request.method.lower() / "responses"
            assert str(resp.status_code) in operation, f"{route.name}: {resp.status_code} is not documented"
        else:
            self.api.validate_response(SpecRequest(request.method, request.url, body), SpecResponse(resp))
        self.covered.setdefault(route, []).append(resp.status_code)
        return resp

    def request_violates_spec(self, method: str, url: str, body: Any | None = None) -> bool:
        raw = json.dumps(body).encode() if body is not None else None
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", "Unsupported scheme type"
            )  # OAuth schemes: not what is checked here
            try:
                self.api.validate_request(SpecRequest(method, url, raw))
            except Exception:  # openapi-core raises a family of validation errors
                return True
        return False


@pytest.fixture(scope="session")
def jira_openapi() -> OpenAPI:
    path = _spec_path()
    if not path.exists():
        pytest.fail(f"The Jira Cloud OpenAPI description is needed at {path} (set CHGSYNC_JIRA_OPENAPI).")
    spec = _patch_spec(json.loads(path.read_text()))
    # Jira writes 2026-11-26T10:00:00.000+0000, which is not RFC 3339: relax the date-time check.
    config = Config(spec_validator_cls=None, extra_format_validators={"date-time": lambda _v: True})
    return OpenAPI.from_dict(spec, config=config)


@pytest.fixture
def spec(jira_openapi: OpenAPI) -> SpecChecker:
    return SpecChecker(jira_openapi)


@pytest.fixture
def jira_client(jira_emulator: JiraEmulator) -> JIRA:
    return JIRA(
        server=jira_emulator.base_url, basic_auth=(jira_emulator.user, jira_emulator.secret), max_retries=0
    )


@pytest.fixture
def http(jira_emulator: JiraEmulator) -> Iterator[requests.Session]:
    with jira_emulator.session() as session:
        yield session


def _change_fields(summary: str = "Patch the payments database", **extra: Any) -> dict[str, Any]:
    """Fields for a valid CHG Change: the project, type, summary and the required change type."""
    return {
        "project": {"key": "CHG"},
        "issuetype": {"name": "Change"},
        "summary": summary,
        "customfield_10040": {"value": "Normal"},
        **extra,
    }


@pytest.fixture
def change_fields() -> Any:
    return _change_fields


@pytest.fixture
def new_change(jira_client: JIRA) -> Any:
    def create(summary: str = "Patch the payments database", **extra: Any) -> Any:
        return jira_client.create_issue(fields=_change_fields(summary, **extra))

    return create


# -- the adapter's tests ------------------------------------------------------------------------------
JSM = "jira-service-management"
SOFTWARE = "jira-software"


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the adapter's retry policy asked for: tests never sleep, they read this list."""
    return []


@pytest.fixture
def make_adapter(sleeps: list[float]) -> Any:
    """``make_adapter(emulator, mapping=JSM name or a loaded Mapping, **settings)``: a connected-on-use
    adapter with a fast, seeded retry policy whose sleeps are recorded instead of slept."""
    import random

    from chgsync_jira.adapter import from_settings

    from chgsync.mapping import Mapping as MappingFile
    from chgsync.mapping import load_mapping, shipped_mapping
    from chgsync.retry import RetryPolicy

    def make(emulator: JiraEmulator, mapping: str | MappingFile = JSM, **settings: Any) -> Any:
        loaded = load_mapping(shipped_mapping(mapping)) if isinstance(mapping, str) else mapping
        return from_settings({
            "url": emulator.base_url,
            "user": emulator.user,
            "token": emulator.secret,
            "mapping": loaded,
            "retry": RetryPolicy(attempts=3, base=0.01, cap=0.05, rng=random.Random(7)),
            "sleep": sleeps.append,
            **settings,
        })

    return make
