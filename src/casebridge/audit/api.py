"""API operations of the audit log: the data protection officer's search and export.

Filters travel in a POST body, as on the page: usernames stay out of URLs and logs.
"""

from datetime import datetime
from typing import Literal

from ninja import Field, Router, Schema

from casebridge.accounts.stepup import step_up
from casebridge.apischema import MAX_OFFSET, Day, Error, Input
from casebridge.audit import export, selectors
from casebridge.audit.models import Outcome

router = Router(tags=["audit"])


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


@router.post(
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


@router.post(
    "/events/export",
    response={200: None, 403: Error, 404: Error, 422: Error},
    summary="Every audit event matching the filters, oldest first, with chain positions "
    "and hashes (CSV or JSON Lines, streamed)",
    openapi_extra={
        "responses": {
            200: {
                "description": "The events; columns in docs/operations.md",
                "content": {content_type: {} for content_type in export.FORMATS.values()},
            }
        }
    },
)
@step_up("audit.log.export")
def event_export(request, payload: AuditExportIn):
    """A step-up action, as on the page: a browser session that confirmed it is the user."""
    exported = selectors.export_for_dpo(request.user, fmt=payload.format, **payload.filters())
    return export.stream(exported.rows, payload.format)
