"""The API of the SOP as an agreement: the same services and selectors as the pages
(DESIGN invariant 12). Signing and putting into force need a confirmed browser session,
never a token (``accounts.stepup``)."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from casebridge.accounts.stepup import step_up
from casebridge.apischema import Day, Error, Input
from casebridge.procedures import selectors, services
from casebridge.sharing.models import Protocol

router = Router(tags=["procedures"])


class FindingOut(Schema):
    level: str
    rule: str
    message: str


class SignatoryOut(Schema):
    party: str = Field(description="the party's organisation type; '' for the legal review")
    organisation_id: int | None
    person_id: int
    person: str
    signed_at: datetime | None
    signed_current_text: bool


class CommentOut(Schema):
    rule: str
    text: str
    author: str
    organisation: str
    created_at: datetime


class ProtocolOut(Schema):
    id: int
    code: str
    version: str
    label: str
    status: str
    state: str = Field(description="draft, scheduled, in_force, ended or retired")
    effective_from: date
    effective_until: date | None
    parties: list[str]
    based_on_id: int | None
    lesson_id: int | None
    content_hash: str


class ProtocolDetailOut(ProtocolOut):
    labels: dict[str, str]
    description: dict[str, str]
    rules: list[dict]
    findings: list[FindingOut]
    signatories: list[SignatoryOut]
    missing_signatures: list[str]
    comments: list[CommentOut]
    activated_at: datetime | None


def _summary(protocol: Protocol) -> dict:
    return {
        "id": protocol.pk,
        "code": protocol.code,
        "version": protocol.version,
        "label": protocol.label,
        "status": protocol.status,
        "state": selectors.state(protocol),
        "effective_from": protocol.effective_from,
        "effective_until": protocol.effective_until,
        "parties": list(protocol.parties),
        "based_on_id": protocol.based_on_id,
        "lesson_id": protocol.lesson_id,
        "content_hash": protocol.content_hash,
    }


def _detail(protocol: Protocol) -> dict:
    rules, general, comments = selectors.rule_views(protocol)
    draft = protocol.status == Protocol.Status.DRAFT
    return {
        **_summary(protocol),
        "labels": dict(protocol.labels),
        "description": dict(protocol.description),
        "rules": protocol.content()["rules"],
        "findings": [
            {"level": f.level, "rule": f.rule, "message": f.message}
            for f in [*general, *(f for r in rules for f in r.findings)]
        ],
        "signatories": [
            {
                "party": s.party,
                "organisation_id": s.organisation_id,
                "person_id": s.person_id,
                "person": str(s.person),
                "signed_at": s.signed_at,
                "signed_current_text": s.current,
            }
            for s in selectors.signatories(protocol)
        ],
        "missing_signatures": selectors.still_missing(protocol) if draft else [],
        "comments": [
            {
                "rule": c.rule,
                "text": c.text,
                "author": str(c.author),
                "organisation": c.organisation.name if c.organisation else "",
                "created_at": c.created_at,
            }
            for c in [*comments, *(c for r in rules for c in r.comments)]
        ],
        "activated_at": protocol.activated_at,
    }


def _draft(request, protocol_id: int) -> Protocol:
    protocol = selectors.protocol_for_reader(request.user, protocol_id)
    if not selectors.may_draft(request.user):
        raise PermissionDenied
    return protocol


@router.get("", response=list[ProtocolOut], summary="The versions you may read")
def protocol_list(request):
    return [_summary(row.protocol) for row in selectors.protocol_rows(request.user)]


@router.get("/{protocol_id}", response={200: ProtocolDetailOut, 404: Error})
def protocol_detail(request, protocol_id: int):
    """A version with its rules, the check's findings, signatories and comments."""
    return _detail(selectors.protocol_for_reader(request.user, protocol_id))


class DraftIn(Input):
    version: str = Field(max_length=40)
    lesson_id: int | None = Field(None, description="the lesson learned that proposes it")


@router.post(
    "/{protocol_id}/drafts",
    response={201: ProtocolDetailOut, 403: Error, 404: Error, 422: Error},
    summary="Start a draft from this version (network coordinators)",
)
def draft_start(request, protocol_id: int, payload: DraftIn):
    based_on = selectors.protocol_for_reader(request.user, protocol_id)
    lesson = None
    if payload.lesson_id is not None:
        lesson = selectors.lesson(payload.lesson_id)
        if lesson is None:
            raise ValidationError({"lesson_id": [_("There is no such lesson.")]})
    draft = services.draft_start(
        actor=request.user, based_on=based_on, version=payload.version, lesson=lesson
    )
    return Status(201, _detail(draft))


class ImportIn(Input):
    toml: str = Field(description="one [[protocols]] entry, as the export writes it")


@router.post(
    "",
    response={201: ProtocolDetailOut, 403: Error, 422: Error},
    summary="Import a file as a draft (network coordinators)",
)
def draft_import(request, payload: ImportIn):
    return Status(201, _detail(services.draft_import(actor=request.user, text=payload.toml)))


class DraftUpdateIn(Input):
    version: str = Field(max_length=40)
    effective_from: Day
    parties: list[str]
    labels: dict[str, str]
    description: dict[str, str] = {}


@router.patch(
    "/{protocol_id}",
    response={200: ProtocolDetailOut, 403: Error, 404: Error, 422: Error},
    summary="Change a draft's version, proposed start, parties and name",
)
def draft_update(request, protocol_id: int, payload: DraftUpdateIn):
    protocol = _draft(request, protocol_id)
    known = selectors.organisation_type_codes()
    unknown = [code for code in payload.parties if code not in known]
    if unknown:
        raise ValidationError(
            {
                "parties": [
                    _("Unknown organisation types: %(codes)s") % {"codes": ", ".join(unknown)}
                ]
            }
        )
    services.draft_update(
        actor=request.user,
        protocol=protocol,
        version=payload.version,
        effective_from=payload.effective_from,
        parties=payload.parties,
        labels=payload.labels,
        description=payload.description,
    )
    return _detail(protocol)


class RuleIn(Input):
    rule: dict = Field(description="the rule as a model file writes it (code, event, ...)")


@router.post(
    "/{protocol_id}/rules",
    response={201: ProtocolDetailOut, 403: Error, 404: Error, 422: Error},
    summary="Add a rule to a draft; refused if the check finds an error it brings",
)
def rule_add(request, protocol_id: int, payload: RuleIn):
    protocol = _draft(request, protocol_id)
    services.rule_save(actor=request.user, protocol=protocol, code=None, data=payload.rule)
    return Status(201, _detail(protocol))


@router.put(
    "/{protocol_id}/rules/{code}",
    response={200: ProtocolDetailOut, 403: Error, 404: Error, 422: Error},
    summary="Replace a rule of a draft; refused if the check finds an error it brings",
)
def rule_replace(request, protocol_id: int, code: str, payload: RuleIn):
    protocol = _draft(request, protocol_id)
    services.rule_save(actor=request.user, protocol=protocol, code=code, data=payload.rule)
    return _detail(protocol)


@router.delete(
    "/{protocol_id}/rules/{code}",
    response={200: ProtocolDetailOut, 403: Error, 404: Error, 422: Error},
)
def rule_delete(request, protocol_id: int, code: str):
    protocol = _draft(request, protocol_id)
    services.rule_delete(actor=request.user, protocol=protocol, code=code)
    return _detail(protocol)


class SignerIn(Input):
    organisation_id: int
    person_id: int


class SignatoriesIn(Input):
    parties: dict[str, SignerIn] = Field(description="for each party type: who signs for it")
    legal_reviewer_id: int


@router.put(
    "/{protocol_id}/signatories",
    response={200: ProtocolDetailOut, 403: Error, 404: Error, 422: Error},
    summary="Name who signs for each party, and the legal reviewer",
)
def signatories_set(request, protocol_id: int, payload: SignatoriesIn):
    protocol = _draft(request, protocol_id)
    parties = {
        party: selectors.signing_pair(f"{signer.organisation_id}:{signer.person_id}")
        for party, signer in payload.parties.items()
    }
    services.signatories_set(
        actor=request.user,
        protocol=protocol,
        parties=parties,
        legal_reviewer=selectors.person(payload.legal_reviewer_id),
    )
    return _detail(protocol)


class CommentIn(Input):
    rule: str = Field("", description="the rule's code; '' for the whole version")
    text: str = Field(max_length=2000)


@router.post(
    "/{protocol_id}/comments",
    response={201: ProtocolDetailOut, 403: Error, 404: Error, 422: Error},
)
def comment_add(request, protocol_id: int, payload: CommentIn):
    protocol = selectors.protocol_for_reader(request.user, protocol_id)
    services.comment_add(
        actor=request.user, protocol=protocol, rule=payload.rule, text=payload.text
    )
    return Status(201, _detail(protocol))


class SignIn(Input):
    content_hash: str = Field(description="the content_hash of the text you read and sign")


@router.post(
    "/{protocol_id}/sign",
    response={200: ProtocolDetailOut, 403: Error, 404: Error, 422: Error},
    summary="Sign the exact text (a confirmed browser session; never a token)",
)
@step_up("procedures.protocol.sign")
def sign(request, protocol_id: int, payload: SignIn):
    protocol = selectors.protocol_for_reader(request.user, protocol_id)
    try:
        services.protocol_sign(
            actor=request.user, protocol=protocol, content_hash=payload.content_hash
        )
    except PermissionDenied:
        raise Http404 from None
    return _detail(protocol)


class ActivateIn(Input):
    effective_from: Day = Field(description="the day it takes effect: today or later")
    content_hash: str


@router.post(
    "/{protocol_id}/activate",
    response={200: ProtocolDetailOut, 403: Error, 404: Error, 422: Error},
    summary="Put a signed version into force (a confirmed browser session; never a token)",
)
@step_up("procedures.protocol.activate")
def activate(request, protocol_id: int, payload: ActivateIn):
    protocol = _draft(request, protocol_id)
    services.protocol_activate(
        actor=request.user,
        protocol=protocol,
        effective_from=payload.effective_from,
        content_hash=payload.content_hash,
    )
    protocol.refresh_from_db()
    return _detail(protocol)


@router.get(
    "/{protocol_id}/export",
    response={200: None, 404: Error},
    openapi_extra={
        "responses": {200: {"description": "The file", "content": {"application/toml": {}}}}
    },
    summary="The version as a file (TOML); the import reads it back to the same text",
)
def export(request, protocol_id: int):
    protocol = selectors.protocol_for_reader(request.user, protocol_id)
    return HttpResponse(services.export_toml(protocol), content_type="application/toml")


class FieldChangeOut(Schema):
    field: str
    before: str
    after: str


class RuleChangeOut(Schema):
    kind: str
    rule: str
    label: str
    fields: list[FieldChangeOut]
    summary: str


@router.get(
    "/{old_id}/compare/{new_id}",
    response={200: list[RuleChangeOut], 404: Error},
    summary="What changes between two versions of a procedure, in words",
)
def protocol_diff(request, old_id: int, new_id: int):
    return selectors.protocol_difference(request.user, old_id, new_id)[2]


class ReplayQuery(Input):
    start: Day = Field(description="the first day of the period")
    end: Day = Field(description="the last day of the period (at most three years later)")


class ReplayChangeOut(Schema):
    kind: str
    heading: str
    count: int


class ReplayRowOut(Schema):
    rule: str
    label: str
    status: str
    changes: list[ReplayChangeOut]


class ReplayOut(Schema):
    baseline_id: int
    events: int
    cases: int
    hotline_events: int
    contacts: int
    obligations: int
    disclosures: int
    cases_changed: int
    totals: dict[str, int]
    rows: list[ReplayRowOut]


@router.get(
    "/{protocol_id}/replay",
    response={200: ReplayOut, 403: Error, 404: Error, 422: Error},
    summary="Replay a period's past events through this version and the one in force "
    "(network coordinators and data protection officers; counts per rule, changes nothing)",
)
def replay(request, protocol_id: int, query: Query[ReplayQuery]):
    if not selectors.may_replay(request.user):
        raise PermissionDenied
    protocol = selectors.protocol_for_reader(request.user, protocol_id)
    baseline = selectors.replay_baseline(protocol)
    if baseline is None:
        raise ValidationError(
            {"protocol": [_("There is no other version of this procedure to compare it with.")]}
        )
    report = selectors.replay(
        actor=request.user,
        draft=protocol,
        baseline=baseline,
        start=query.start,
        end=query.end,
    )
    return {
        "baseline_id": baseline.pk,
        "events": report.events,
        "cases": report.cases,
        "hotline_events": report.hotline_events,
        "contacts": report.contacts,
        "obligations": report.obligations,
        "disclosures": report.disclosures,
        "cases_changed": report.cases_changed,
        "totals": dict(report.totals),
        "rows": [
            {
                "rule": row.rule,
                "label": row.label,
                "status": row.status,
                "changes": [
                    {"kind": kind, "heading": heading, "count": tally.count}
                    for kind, heading, tally in row.changes
                ],
            }
            for row in report.rows
        ],
    }
