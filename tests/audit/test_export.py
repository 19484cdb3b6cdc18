"""The data protection officer's audit export holds every event she asked for — no cap —
in chain order with positions and hashes, so that an auditor can verify the excerpt."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import StreamingHttpResponse
from django.urls import reverse

from casebridge.accounts.services import api_token_create
from casebridge.audit import export
from casebridge.audit.models import AuditEvent
from casebridge.audit.services import seal_pending
from casebridge.privacy import selectors
from casebridge.privacy.forms import AuditFilterForm

pytestmark = pytest.mark.django_db

MANY = 1234
EXPORT = "/api/v1/audit/events/export"
SEARCH = "/api/v1/audit/events/search"


@pytest.fixture
def many_events(personas):
    """More events than any page or the old cap of 500: every tenth one was denied."""
    AuditEvent.objects.bulk_create(
        AuditEvent(
            occurred_at=AuditEvent.objects.latest("id").occurred_at,
            actor_label="partner",
            action=f"test.bulk.{n % 3}",
            object_type="cases.case",
            object_id=str(n),
            outcome="denied" if n % 10 == 0 else "ok",
            details={"n": n, "text": 'a "quoted", comma\nline'},
        )
        for n in range(MANY)
    )
    seal_pending()
    return MANY


def _read(response, fmt="csv") -> list[dict]:
    assert isinstance(response, StreamingHttpResponse) and response.streaming
    text = b"".join(response.streaming_content).decode()
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines()]
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _sealed(**filters) -> list[int]:
    return list(
        AuditEvent.objects.filter(sequence__isnull=False, **filters)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_unfiltered_export_holds_every_event_in_chain_order_and_verifies(
    personas, many_events, fmt
):
    client = personas.client(personas.dpo)
    response = client.post(reverse("audit:log"), {"export": fmt})

    rows = _read(response, fmt)
    assert response["Content-Type"] == export.FORMATS[fmt]
    assert response["Content-Disposition"] == f'attachment; filename="audit.{fmt}"'
    assert len(rows) > many_events > selectors.PER_PAGE
    exported = [int(row["sequence"]) for row in rows]
    assert exported == _sealed(sequence__lte=exported[-1]) == list(range(1, len(rows) + 1))
    check = export.check_excerpt(rows)
    assert check.ok, check.problems[:3]
    assert (check.rows, check.links) == (len(rows), len(rows) - 1)
    assert list(rows[0]) == list(export.COLUMNS)


def test_the_export_is_recorded_with_filters_format_and_count(personas, many_events):
    client = personas.client(personas.dpo)
    rows = _read(client.post(reverse("audit:log"), {"action": "test.bulk.1", "export": "csv"}))
    event = AuditEvent.objects.filter(action="audit.log.export").latest("id")
    assert (event.actor, event.details) == (
        personas.dpo,
        {"filters": {"action": "test.bulk.1"}, "format": "csv", "count": len(rows)},
    )
    assert len(rows) == len(range(1, MANY, 3))


def test_filters_select_the_same_events_for_the_page_and_the_export(personas, many_events):
    client = personas.client(personas.dpo)
    filters = {"username": "partner", "action": "test.bulk.", "outcome": "denied"}
    page = client.post(reverse("audit:log"), filters)
    rows = _read(client.post(reverse("audit:log"), {**filters, "export": "jsonl"}), "jsonl")

    wanted = _sealed(actor_label="partner", action__startswith="test.bulk.", outcome="denied")
    assert [row["sequence"] for row in rows] == wanted
    assert page.context["events"].paginator.count == len(wanted) == MANY // 10 + 1
    check = export.check_excerpt(rows)
    assert check.ok and check.links == 0  # gaps between them: each row checked on its own


def test_the_page_says_how_many_match_and_pages_through_them(personas, many_events):
    client = personas.client(personas.dpo)
    first = client.post(reverse("audit:log"), {"action": "test.bulk."})
    count = first.context["events"].paginator.count
    assert count == MANY
    text = first.content.decode()
    assert f"{count} events match the filters." in text
    assert "Page 1 of 13, 100 events per page, newest first." in text
    assert "An export holds all of them" in text
    assert len(first.context["events"]) == selectors.PER_PAGE
    last = client.post(reverse("audit:log"), {"action": "test.bulk.", "page": "13"})
    assert [e.object_id for e in last.context["events"]] == [str(n) for n in range(33, -1, -1)]


def test_invalid_filters_export_nothing(personas, many_events):
    client = personas.client(personas.dpo)
    response = client.post(reverse("audit:log"), {"day_from": "gestern", "export": "csv"})
    assert response.status_code == 422 and not response.streaming
    assert response.context["form"].errors["day_from"]
    assert not AuditEvent.objects.filter(action="audit.log.export").exists()


def test_rows_are_read_in_chunks_without_losing_one_at_their_edges(personas, many_events):
    whole = list(selectors.export_for_dpo(personas.dpo, fmt="csv").rows)
    chunked = list(selectors.export_for_dpo(personas.dpo, fmt="csv", chunk=7).rows)
    assert chunked[:-1] == whole  # and the record of the first export, sealed since


def test_an_edited_or_reordered_excerpt_fails_the_check(personas, many_events):
    rows = _read(personas.client(personas.dpo).post(reverse("audit:log"), {"export": "csv"}))
    edited = [dict(row) for row in rows[:5]]
    edited[2]["object_id"] = "999"
    assert export.check_excerpt(edited).problems == [
        f"event {edited[2]['sequence']}: content does not match its hash"
    ]
    swapped = [rows[1], rows[0], *rows[2:5]]
    assert "not in chain order" in export.check_excerpt(swapped).problems[0]


def test_audit_verify_checks_an_excerpt_against_the_chain(personas, many_events, tmp_path, capsys):
    client = personas.client(personas.dpo)
    response = client.post(reverse("audit:log"), {"action": "test.bulk.2", "export": "jsonl"})
    path = tmp_path / "excerpt.jsonl"
    path.write_bytes(b"".join(response.streaming_content))
    call_command("audit", "verify", "--excerpt", str(path))
    assert f"excerpt intact: {MANY // 3} events" in capsys.readouterr().out
    # The database changed after the export: the excerpt no longer matches the chain.
    first = json.loads(path.read_text().splitlines()[0])
    AuditEvent.objects.filter(sequence=first["sequence"]).update(hash="0" * 64)
    with pytest.raises(CommandError, match="the chain holds another hash"):
        call_command("audit", "verify", "--excerpt", str(path))
    path.write_text("no,audit\n1,2\n")
    with pytest.raises(CommandError, match="row 1: not an audit export row"):
        call_command("audit", "verify", "--excerpt", str(path))


# -- the API ---------------------------------------------------------------------------------


def test_the_api_streams_the_same_export_to_a_confirmed_session_never_a_token(
    personas, many_events, client
):
    """Exporting the log is a step-up action (accounts.stepup): a token cannot confirm."""
    token = api_token_create(actor=personas.dpo, name="audit")[1]
    refused = client.post(
        EXPORT,
        {"format": "jsonl", "action": "test.bulk.0"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert refused.status_code == 403
    response = personas.client(personas.dpo).post(
        EXPORT, {"format": "jsonl", "action": "test.bulk.0"}, content_type="application/json"
    )
    rows = _read(response, "jsonl")
    assert [row["sequence"] for row in rows] == _sealed(action="test.bulk.0")
    assert export.check_excerpt(rows).ok
    assert AuditEvent.objects.filter(action="audit.log.export").latest("id").details["count"] == (
        len(rows)
    )


def test_the_api_export_needs_a_recent_confirmation_in_a_session(personas, many_events):
    stale = personas.client(personas.dpo, reauthenticated=False)
    response = stale.post(EXPORT, {}, content_type="application/json")
    assert response.status_code == 403 and "Confirm" in response.json()["detail"]
    fresh = personas.client(personas.dpo)
    assert len(_read(fresh.post(EXPORT, {}, content_type="application/json"))) > MANY


@pytest.mark.parametrize("persona", ["partner", "coordinator", "admin", "hotline"])
def test_only_the_dpo_searches_or_exports_through_the_api(personas, persona):
    client = personas.client(getattr(personas, persona))
    assert client.post(EXPORT, {}, content_type="application/json").status_code == 404
    assert client.post(SEARCH, {}, content_type="application/json").status_code == 404


def test_the_api_search_pages_like_the_page(personas, many_events):
    client = personas.client(personas.dpo)
    body = client.post(
        SEARCH, {"action": "test.bulk.", "page": 2}, content_type="application/json"
    ).json()
    assert (body["count"], body["page"], body["pages"], body["per_page"]) == (MANY, 2, 13, 100)
    assert [e["object_id"] for e in body["events"][:2]] == [str(MANY - 101), str(MANY - 102)]


def test_the_api_and_the_page_take_the_same_filters():
    from casebridge.privacy.api import AuditFilterIn

    assert set(AuditFilterIn.model_fields) == set(AuditFilterForm.base_fields)
