"""API operations of the data protection officer: subject requests (``router``, under
/privacy) and the audit log (``audit_router``, under /audit). Others get 403 or 404."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Router, Schema, Status

from casebridge.accounts.stepup import step_up
from casebridge.apischema import MAX_OFFSET, Day, Error, Input
from casebridge.audit import export as audit_export
from casebridge.audit.models import Outcome
from casebridge.privacy import selectors, services
from casebridge.privacy.models import SubjectRequest
from casebridge.privacy.views import bundle_response

router = Router(tags=["privacy"])


class RequestIn(Input):
    kind: SubjectRequest.Kind
    article: SubjectRequest.Article
    requester_note: str = Field(default="", max_length=5000)
    received_on: Day | None = None


class RequestOut(Schema):
    id: int
    reference: str
    kind: str
    article: str
    status: str
    received_on: date
    due_on: date
    subjects: dict[str, list[int]]
    export_digest: str
    prepared_at: datetime | None
    reviewed_at: datetime | None
    released_at: datetime | None
    erased_at: datetime | None
    closed_at: datetime | None


class SearchIn(Input):
    """Sent in the body, never in the URL: names and dates of birth are identity data."""

    first_name: str = Field(default="", max_length=120)
    last_name: str = Field(default="", max_length=120)
    date_of_birth: str = Field(default="", max_length=10)
    case_number: str = Field(default="", max_length=20)
    contact_reference: str = Field(default="", max_length=20)


class MatchOut(Schema):
    key: str
    kind: str
    label: str
    basis: str


class AttachIn(Input):
    subjects: list[str] = Field(max_length=500, description='keys from the search: "cases:12"')


ERRORS = {401: Error, 403: Error, 404: Error, 422: Error}


@router.get("/requests", response={200: list[RequestOut], **ERRORS})
def request_list(request):
    return selectors.subject_requests(request.user)


@router.post("/requests", response={201: RequestOut, **ERRORS})
def request_create(request, payload: RequestIn):
    return Status(201, services.subject_request_create(actor=request.user, **payload.dict()))


@router.get("/requests/{request_id}", response={200: RequestOut, **ERRORS})
def request_detail(request, request_id: int):
    return selectors.access_subject_request(request.user, request_id)


@router.post("/requests/{request_id}/search", response={200: list[MatchOut], **ERRORS})
def request_search(request, request_id: int, payload: SearchIn):
    item = selectors.access_subject_request(request.user, request_id)
    data = payload.dict()
    matches = selectors.subject_search(request.user, item, **data)
    return [{"key": m.key, "kind": m.kind, "label": m.label, "basis": m.basis} for m in matches]


@router.post("/requests/{request_id}/subjects", response={200: RequestOut, **ERRORS})
def request_attach(request, request_id: int, payload: AttachIn):
    item = selectors.access_subject_request(request.user, request_id)
    return services.subject_request_attach(actor=request.user, request=item, keys=payload.subjects)


def _step(name: str):
    service = {
        "prepare": services.subject_request_prepare,
        "review": services.subject_request_review,
        "release": services.subject_request_release,
        "erase": services.subject_request_erase,
        "close": services.subject_request_close,
    }[name]

    def operation(request, request_id: int):
        item = selectors.access_subject_request(request.user, request_id)
        return service(actor=request.user, request=item)

    operation.__name__ = f"request_{name}"
    operation.__doc__ = f"{name.capitalize()} the subject request."
    router.post(f"/requests/{{request_id}}/{name}", response={200: RequestOut, **ERRORS})(operation)


for _name in ("prepare", "review", "release", "erase", "close"):
    _step(_name)


@router.get("/requests/{request_id}/export", response={200: dict, **ERRORS})
@step_up("privacy.subject_request.export")
def request_export(request, request_id: int):
    """The released export (the copy for the person); 422 before release. A confirmed
    browser session only, never a token."""
    item = selectors.access_subject_request(request.user, request_id)
    return services.subject_export_open(actor=request.user, request=item, download=True)


@router.get(
    "/requests/{request_id}/export/bundle",
    response={200: None, **ERRORS},
    openapi_extra={
        "responses": {200: {"description": "The ZIP", "content": {"application/zip": {}}}}
    },
)
def request_export_bundle(request, request_id: int):
    """The export with the documents, as a ZIP (export.json and documents/): for review from
    prepared on, the copy for the person once released; 422 before."""
    item = selectors.access_subject_request(request.user, request_id)
    return bundle_response(services.subject_export_bundle(actor=request.user, request=item), item)


# -- the audit log ------------------------------------------------------------------------

audit_router = Router(tags=["audit"])


class AuditFilterIn(Input):
    username: str = Field(default="", max_length=150)
    action: str = Field(default="", max_length=80, description="the action begins with this")
    object_type: str = Field(default="", max_length=80)
    object_id: str = Field(default="", max_length=64)
    outcome: Outcome | None = None
    day_from: Day | None = Field(default=None, description="first local day")
    day_to: Day | None = Field(default=None, description="last local day")

    def filters(self) -> dict:
        values = self.dict(include=set(AuditFilterIn.model_fields))
        return {**values, "outcome": values["outcome"] or ""}


class AuditSearchIn(AuditFilterIn):
    page: int = Field(default=1, ge=1, le=MAX_OFFSET, description="newest first")


class AuditExportIn(AuditFilterIn):
    format: Literal["csv", "jsonl"] = "csv"


class AuditEventOut(Schema):
    sequence: int | None = Field(description="position in the chain; null until sealed")
    occurred_at: datetime
    actor_label: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    purpose: str
    remote_addr: str | None
    details: dict
    prev_hash: str | None
    hash: str | None


class AuditPageOut(Schema):
    count: int = Field(description="events matching the filters (the export holds them all)")
    page: int
    pages: int
    per_page: int
    events: list[AuditEventOut]


@audit_router.post(
    "/events/search",
    response={200: AuditPageOut, 404: Error, 422: Error},
    summary="Audit events matching the filters, a page at a time, newest first",
)
def event_search(request, payload: AuditSearchIn):
    shown = selectors.events_for_dpo(request.user, page=payload.page, **payload.filters())
    return {
        "count": shown.paginator.count,
        "page": shown.number,
        "pages": shown.paginator.num_pages,
        "per_page": shown.paginator.per_page,
        "events": list(shown),
    }


@audit_router.post(
    "/events/export",
    response={200: None, 403: Error, 404: Error, 422: Error},
    summary="Every audit event matching the filters, oldest first, with chain positions "
    "and hashes (CSV or JSON Lines, streamed)",
    openapi_extra={
        "responses": {
            200: {
                "description": "The events; columns in docs/operations.md",
                "content": {content_type: {} for content_type in audit_export.FORMATS.values()},
            }
        }
    },
)
@step_up("audit.log.export")
def event_export(request, payload: AuditExportIn):
    """A step-up action, as on the page: a browser session that confirmed it is the user."""
    exported = selectors.export_for_dpo(request.user, fmt=payload.format, **payload.filters())
    return audit_export.stream(exported.rows, payload.format)
