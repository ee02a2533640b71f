"""The organisation's change policy: who approves what, when changes may happen, what must be filled in.

The built-in defaults follow the process chgsync is built for (CAB by role and risk, five business
days' notice for normal changes, production windows Tue/Thu 02:00–04:00, emergency deadlines of
24 h and 48 h). A policy YAML file overrides any part; ``chgsync policy show`` prints the result.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from .errors import PolicyError
from .lifecycle import ChangeType, State
from .model import Level

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def index(self) -> int:
        return list(Weekday).index(self)


class PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(PolicyModel):
    """A recurring window on the given weekdays, in the policy's time zone. ``end`` ≤ ``start`` crosses midnight."""

    days: list[Weekday] = Field(min_length=1)
    start: time
    end: time

    @field_validator("days", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return [d.lower()[:3] if isinstance(d, str) else d for d in v] if isinstance(v, list) else v


class Blackout(PolicyModel):
    """A named period with no changes, unless someone in ``override_roles`` overrides it on the change."""

    name: str = Field(min_length=1)
    start: AwareDatetime
    end: AwareDatetime
    reason: str = ""
    override_roles: list[Slug] = Field(default_factory=lambda: ["change_manager"])
    applies_to: list[ChangeType] = Field(
        default_factory=lambda: [ChangeType.STANDARD, ChangeType.NORMAL],
        description="Emergency changes are exempt unless listed: their control is the designated authority.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Blackout:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class CatalogEntry(PolicyModel):
    """A pre-approved runbook for standard changes."""

    title: str = Field(min_length=1)
    runbook: str = ""
    systems: list[str] = Field(default_factory=list, description="Systems it may touch; empty means any.")
    max_duration: timedelta | None = None
    max_risk: Level = Level.LOW


class Holidays(PolicyModel):
    """Public holidays that do not count as business days (python ``holidays`` country codes)."""

    country: str | None = None
    subdivision: str | None = None

    @model_validator(mode="after")
    def _known(self) -> Holidays:
        if self.country:
            import holidays

            try:
                holidays.country_holidays(self.country, subdiv=self.subdivision, years=2026)
            except NotImplementedError as exc:
                raise ValueError(f"unknown holiday calendar: {exc}") from exc
        return self


class Cab(PolicyModel):
    """Which roles must approve a change before it is Approved, by type and overall risk."""

    required: dict[ChangeType, dict[Level, list[Slug]]] = Field(
        default_factory=lambda: {
            ChangeType.NORMAL: {
                Level.LOW: ["technical_lead", "change_manager"],
                Level.MEDIUM: ["technical_lead", "change_manager", "business_representative"],
                Level.HIGH: ["technical_lead", "change_manager", "business_representative", "security"],
            },
            ChangeType.EMERGENCY: {
                Level.LOW: ["ecab"],
                Level.MEDIUM: ["ecab"],
                Level.HIGH: ["ecab"],
            },
        }
    )
    forbid_self_approval: bool = True

    def roles_for(self, change_type: ChangeType, risk: Level | None) -> list[str]:
        table = self.required.get(change_type, {})
        return list(table.get(risk or Level.HIGH, []))


class EmergencyPolicy(PolicyModel):
    """Who may authorise an emergency change, and the obligations it carries once it is under way.

    The retrospective and post-mortem deadlines count from the moment the change is Implemented;
    status updates are due every ``status_update_every`` from Implementing until it is Closed.
    """

    authority_roles: list[Slug] = Field(default_factory=lambda: ["ecab", "designated_authority"])
    retrospective_due: timedelta = timedelta(hours=24)
    postmortem_due: timedelta = timedelta(hours=48)
    status_update_every: timedelta = Field(timedelta(minutes=30), gt=timedelta(0))
    remind_before: timedelta = Field(timedelta(hours=2), ge=timedelta(0),
                                     description="How long before a retrospective or post-mortem is due to remind.")
    escalate_after: timedelta = Field(timedelta(0), ge=timedelta(0),
                                      description="How long after it was due, still missing, to escalate.")


class Conflicts(PolicyModel):
    """Two changes conflict when they share a system and their planned windows overlap."""

    states: list[State] = Field(default_factory=lambda: [State.APPROVED, State.SCHEDULED, State.IMPLEMENTING])
    margin: timedelta = Field(timedelta(0), description="Extra time kept free around each change.")


_PLANNING = [
    "title",
    "justification.reason",
    "justification.impact_if_not_done",
    "implementation.steps",
    "implementation.systems",
    "risks",
    "risks.mitigation",
    "rollback.trigger",
    "rollback.steps",
    "rollback.expected_duration",
    "testing.pre_production",
    "testing.validation",
    "communication.stakeholders",
    "communication.channels",
    "schedule.planned_start",
    "schedule.planned_end",
]
_STANDARD = ["catalog_entry", "implementation.systems", "schedule.planned_start", "schedule.planned_end",
             "communication.stakeholders"]
_EMERGENCY_NOW = ["justification.reason", "implementation.systems", "emergency.authorizer",
                  "emergency.threshold", "rollback.steps"]
_DONE = ["outcome", "schedule.actual_start", "schedule.actual_end"]
_CLOSED = [*_DONE, "close_notes"]


def _default_requirements() -> dict[ChangeType, dict[State, list[str]]]:
    return {
        ChangeType.NORMAL: {
            State.CAB_REVIEW: _PLANNING,
            State.APPROVED: _PLANNING,
            State.SCHEDULED: _PLANNING,
            State.IMPLEMENTING: _PLANNING,
            State.IMPLEMENTED: _DONE,
            State.CLOSED: _CLOSED,
        },
        ChangeType.STANDARD: {
            State.SCHEDULED: _STANDARD,
            State.IMPLEMENTING: _STANDARD,
            State.IMPLEMENTED: _DONE,
            State.CLOSED: _CLOSED,
        },
        ChangeType.EMERGENCY: {
            State.CAB_REVIEW: _EMERGENCY_NOW,
            State.APPROVED: _EMERGENCY_NOW,
            State.SCHEDULED: _EMERGENCY_NOW,
            State.IMPLEMENTING: _EMERGENCY_NOW,
            State.IMPLEMENTED: _DONE,
            State.CLOSED: [*_CLOSED, "emergency.retrospective_link", "emergency.postmortem_link"],
        },
    }


class Policy(PolicyModel):
    timezone: str = "UTC"
    holidays: Holidays = Field(default_factory=Holidays)
    lead_time_business_days: dict[ChangeType, int] = Field(
        default_factory=lambda: {ChangeType.NORMAL: 5}, description="Notice needed before planned start."
    )
    cab: Cab = Field(default_factory=Cab)
    windows: dict[Slug, list[Window]] = Field(
        default_factory=lambda: {
            "production": [Window(days=[Weekday.TUE, Weekday.THU], start=time(2), end=time(4))]
        },
        description="Per environment; an environment not listed may change at any time.",
    )
    window_types: list[ChangeType] = Field(default_factory=lambda: [ChangeType.STANDARD, ChangeType.NORMAL])
    blackouts: list[Blackout] = Field(default_factory=list)
    catalog: dict[Slug, CatalogEntry] = Field(default_factory=dict)
    emergency: EmergencyPolicy = Field(default_factory=EmergencyPolicy)
    validation_points: list[timedelta] = Field(
        default_factory=lambda: [timedelta(0), timedelta(hours=24), timedelta(days=7)],
        description="When, after Implemented, a change's result is checked; it closes as successful only once "
                    "every point passed (or with an override). An empty list asks for no validation.",
    )
    conflicts: Conflicts = Field(default_factory=Conflicts)
    checklist: dict[ChangeType, list[str]] = Field(
        default_factory=lambda: {
            ChangeType.NORMAL: ["backup_verified", "rollback_tested", "stakeholders_notified",
                                "monitoring_configured", "oncall_available"],
            ChangeType.STANDARD: ["backup_verified", "monitoring_configured", "oncall_available"],
            ChangeType.EMERGENCY: ["oncall_available"],
        }
    )
    requirements: dict[ChangeType, dict[State, list[str]]] = Field(default_factory=_default_requirements)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone (e.g. 'Europe/London')") from None
        return v

    @field_validator("validation_points")
    @classmethod
    def _points(cls, v: list[timedelta]) -> list[timedelta]:
        if any(p < timedelta(0) for p in v):
            raise ValueError("validation points are offsets after Implemented and cannot be negative")
        if len(set(v)) != len(v):
            raise ValueError("validation points must differ from one another")
        return sorted(v)

    @field_validator("checklist")
    @classmethod
    def _checklist_items(cls, v: dict[ChangeType, list[str]]) -> dict[ChangeType, list[str]]:
        from .model import Checklist

        known = set(Checklist.model_fields)
        for items in v.values():
            for item in items:
                if item not in known:
                    raise ValueError(f"unknown checklist item {item!r}; expected one of {', '.join(sorted(known))}")
        return v

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def holiday_calendar(self, years: range) -> set[date]:
        if not self.holidays.country:
            return set()
        import holidays

        cal = holidays.country_holidays(self.holidays.country, subdiv=self.holidays.subdivision, years=list(years))
        return set(cal.keys())


def load_policy(path: str | Path | None) -> Policy:
    """The built-in policy, or the file at ``path`` merged over it key by key.

    Mappings merge (``cab.required: {normal: ...}`` keeps the emergency e-CAB default); lists
    replace (a ``blackouts`` list is the whole list).
    """
    if path is None:
        return Policy()
    from .files import load_model

    return load_model(Path(path), Policy, PolicyError, defaults=Policy().model_dump(mode="json"))
