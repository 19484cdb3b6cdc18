"""API operations for subject requests (data protection officers only; others get 403)."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Router, Schema, Status

from casebridge.accounts.stepup import step_up
from casebridge.apischema import Day, Error, Input
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
