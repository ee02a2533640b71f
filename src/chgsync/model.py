"""The canonical change request: the one model every adapter maps to and from.

Every part a change manager writes is here, each optional in the model itself: a draft is allowed to
be incomplete, and what a change needs before it may move is the rules' business
(:mod:`chgsync.rules`), driven by the policy. Times must carry a zone; durations are ISO 8601
(``PT30M``) or seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    model_validator,
)

from .lifecycle import ChangeType, State

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
ChangeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")]


class Strict(BaseModel):
    """Unknown fields are errors: a typo in a change file must not silently drop a section."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


class Level(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return {"low": 1, "medium": 2, "high": 3}[self.value]


class Decision(StrEnum):
    APPROVE = "approve"
    DEFER = "defer"
    REJECT = "reject"


class Outcome(StrEnum):
    SUCCESSFUL = "successful"
    SUCCESSFUL_WITH_ISSUES = "successful_with_issues"
    UNSUCCESSFUL = "unsuccessful"
    ROLLED_BACK = "rolled_back"


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"


class Timing(StrEnum):
    BEFORE = "before"
    DURING = "during"
    AFTER = "after"


def _text_to(key: str, model: type[BaseModel]) -> BeforeValidator:
    """Let YAML authors write a bare string where an object with one required text field is expected.

    The JSON Schema says so too (either the object or a string), so that editors accept the shorthand.
    """
    return BeforeValidator(lambda v: {key: v} if isinstance(v, str) else v,
                           json_schema_input_type=model | str)


class Justification(Strict):
    reason: NonEmpty | None = None
    impact_if_not_done: NonEmpty | None = Field(None, description="The business impact of not making the change.")


class Step(Strict):
    description: NonEmpty
    command: str | None = None
    owner: str | None = None


StepItem = Annotated[Step, _text_to("description", Step)]


class Implementation(Strict):
    steps: list[StepItem] = Field(default_factory=list, description="Ordered implementation steps.")
    systems: list[NonEmpty] = Field(default_factory=list, description="Systems / configuration items affected.")
    dependencies: list[NonEmpty] = Field(default_factory=list)


class RiskRow(Strict):
    risk: NonEmpty
    likelihood: Level
    impact: Level
    mitigation: NonEmpty | None = None

    @property
    def level(self) -> Level:
        """Likelihood × impact on a 3×3 matrix: 1–2 low, 3–4 medium, 6–9 high."""
        score = self.likelihood.rank * self.impact.rank
        return Level.LOW if score <= 2 else Level.MEDIUM if score <= 4 else Level.HIGH


Comparison = Literal[">", ">=", "<", "<=", "==", "!="]


class MetricCondition(Strict):
    """A machine-checkable rollback trigger: the PromQL ``query`` compared with ``threshold``."""

    query: NonEmpty
    op: Comparison = ">"
    threshold: float
    for_: timedelta = Field(timedelta(0), alias="for", description="How long the condition must hold.")

    def holds(self, value: float) -> bool:
        return {
            ">": value > self.threshold,
            ">=": value >= self.threshold,
            "<": value < self.threshold,
            "<=": value <= self.threshold,
            "==": value == self.threshold,
            "!=": value != self.threshold,
        }[self.op]


class RollbackTrigger(Strict):
    description: NonEmpty
    condition: MetricCondition | None = None


class RollbackPlan(Strict):
    trigger: Annotated[RollbackTrigger, _text_to("description", RollbackTrigger)] | None = None
    steps: list[StepItem] = Field(default_factory=list)
    expected_duration: timedelta | None = None


class TestingPlan(Strict):
    __test__ = False  # not a pytest class
    pre_production: NonEmpty | None = Field(None, description="Evidence from staging / pre-production.")
    evidence: list[NonEmpty] = Field(default_factory=list, description="Links to test runs, dashboards.")
    validation: list[NonEmpty] = Field(default_factory=list, description="How success is checked (smoke tests...).")


class Stakeholder(Strict):
    name: NonEmpty
    contact: str | None = Field(None, description="Email address, Slack channel or handle.")


class CommunicationPlan(Strict):
    stakeholders: list[Annotated[Stakeholder, _text_to("name", Stakeholder)]] = Field(default_factory=list)
    timing: list[Timing] = Field(default_factory=list)
    channels: list[Slug] = Field(default_factory=list, description="email, slack, statuspage, teams, ...")


class Schedule(Strict):
    environment: Slug = "production"
    planned_start: AwareDatetime | None = None
    planned_end: AwareDatetime | None = None
    estimated_duration: timedelta | None = None
    actual_start: AwareDatetime | None = None
    actual_end: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Schedule:
        if self.planned_start and self.planned_end and self.planned_end <= self.planned_start:
            raise ValueError("planned_end must be after planned_start")
        if self.actual_start and self.actual_end and self.actual_end < self.actual_start:
            raise ValueError("actual_end must not be before actual_start")
        return self

    @property
    def planned_duration(self) -> timedelta | None:
        if self.planned_start and self.planned_end:
            return self.planned_end - self.planned_start
        return self.estimated_duration

    @property
    def actual_duration(self) -> timedelta | None:
        if self.actual_start and self.actual_end:
            return self.actual_end - self.actual_start
        return None


class Approval(Strict):
    """One CAB member's decision. Only the latest decision per role counts."""

    role: Slug
    approver: NonEmpty
    decision: Decision
    reason: str | None = None
    at: AwareDatetime


class Override(Strict):
    """Permission to proceed despite a blackout, given by someone whose role the policy allows."""

    blackout: NonEmpty
    by: NonEmpty
    role: Slug
    reason: NonEmpty
    at: AwareDatetime


class Cab(Strict):
    approvals: list[Approval] = Field(default_factory=list)
    overrides: list[Override] = Field(default_factory=list)

    def latest(self) -> dict[str, Approval]:
        """The latest decision of each role (by time, then by order given)."""
        out: dict[str, Approval] = {}
        for a in sorted(enumerate(self.approvals), key=lambda p: (p[1].at, p[0])):
            out[a[1].role] = a[1]
        return out


class Checklist(Strict):
    backup_verified: bool = Field(False, description="Backup taken and verified.")
    rollback_tested: bool = Field(False, description="Rollback plan tested.")
    stakeholders_notified: bool = False
    monitoring_configured: bool = Field(False, description="Monitoring alerts configured.")
    oncall_available: bool = Field(False, description="On-call engineer available.")


class Emergency(Strict):
    authorizer: NonEmpty | None = Field(None, description="The designated authority who authorised it.")
    threshold: Slug | None = Field(None, description="Which emergency threshold was met, e.g. production_down.")
    retrospective_due: AwareDatetime | None = None
    retrospective_link: str | None = None
    postmortem_due: AwareDatetime | None = None
    postmortem_link: str | None = None


def point_label(point: timedelta) -> str:
    """A validation point as people write it: ``0h``, ``24h``, ``7d`` (whole days from two days up)."""
    seconds = int(point.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and (unit != "d" or seconds >= 2 * 86400):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class ValidationResult(Strict):
    """The result of one post-implementation validation point (``point`` after the change was Implemented).

    A point may be checked more than once (a failed check fixed and re-checked): the latest result
    by time counts.
    """

    point: timedelta = Field(description="Which validation point: its offset from Implemented (PT0S, P1D, P7D).")
    result: Verdict
    by: NonEmpty = Field(description="Who checked.")
    at: AwareDatetime = Field(description="When the check was made.")
    note: str | None = None


class CloseOverride(Strict):
    """Permission to close as successful before every validation point has passed, with who and why."""

    by: NonEmpty
    reason: NonEmpty
    at: AwareDatetime


class RemoteLink(Strict):
    system: Slug
    key: NonEmpty
    id: str | None = None
    url: str | None = None


class StateChange(Strict):
    from_state: State = Field(alias="from")
    to_state: State = Field(alias="to")
    at: AwareDatetime
    by: str | None = None
    reason: str | None = None


class Change(Strict):
    """A change request. ``id`` is the human change ID used in every ticket, message and marker."""

    id: ChangeId
    title: NonEmpty
    type: ChangeType
    state: State = State.DRAFT
    description: str | None = None
    requester: str | None = None
    implementer: str | None = None
    catalog_entry: Slug | None = Field(None, description="Standard changes: the pre-approved runbook followed.")
    justification: Justification = Field(default_factory=Justification)
    implementation: Implementation = Field(default_factory=Implementation)
    risks: list[RiskRow] = Field(default_factory=list)
    rollback: RollbackPlan = Field(default_factory=RollbackPlan)
    testing: TestingPlan = Field(default_factory=TestingPlan)
    communication: CommunicationPlan = Field(default_factory=CommunicationPlan)
    schedule: Schedule = Field(default_factory=Schedule)
    cab: Cab = Field(default_factory=Cab)
    checklist: Checklist = Field(default_factory=Checklist)
    emergency: Emergency | None = None
    outcome: Outcome | None = None
    close_notes: str | None = None
    validations: list[ValidationResult] = Field(
        default_factory=list, description="Post-implementation validation results, one per check made.")
    close_override: CloseOverride | None = Field(
        None, description="Closes as successful without every validation point passed; says who and why.")
    links: list[RemoteLink] = Field(default_factory=list)
    history: list[StateChange] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _derived_is_not_input(cls, data: Any) -> Any:
        # overall_risk is derived; accept it back from our own JSON output, never trust it.
        if isinstance(data, dict) and "overall_risk" in data:
            data = {k: v for k, v in data.items() if k != "overall_risk"}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overall_risk(self) -> Level | None:
        """The highest level of any risk row; None until risks are assessed."""
        if not self.risks:
            return None
        return max((r.level for r in self.risks), key=lambda lvl: lvl.rank)

    def link(self, system: str) -> RemoteLink | None:
        return next((link for link in self.links if link.system == system), None)

    def entered(self, state: State) -> datetime | None:
        """When the change last entered ``state``, from its history."""
        times = [h.at for h in self.history if h.to_state == state]
        return max(times) if times else None

    def validation(self, point: timedelta) -> ValidationResult | None:
        """The latest result recorded for a validation point (by time, then by order given), if any."""
        found = [(v.at, i, v) for i, v in enumerate(self.validations) if v.point == point]
        return max(found, key=lambda t: (t[0], t[1]))[2] if found else None

    def moved(self, target: State, at: datetime, by: str | None = None, reason: str | None = None) -> Change:
        """A copy in ``target`` with the move recorded. Does not check rules: see chgsync.validation."""
        entry = StateChange.model_validate({"from": self.state, "to": target, "at": at, "by": by, "reason": reason})
        return self.model_copy(update={"state": target, "history": [*self.history, entry]})


def change_schema() -> dict[str, Any]:
    """The JSON Schema of a change file (what ``chgsync schema`` prints)."""
    return Change.model_json_schema(mode="validation")
