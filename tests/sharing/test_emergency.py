"""Break-glass: a coordinator's time-limited emergency access to a case, and its review."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from casebridge.access.policy import Action, decide
from casebridge.accounts.models import Membership, Role
from casebridge.audit.models import AuditEvent
from casebridge.cases import services as case_services
from casebridge.sharing import emergency
from casebridge.sharing.models import EmergencyAccess
from tests.builders import org, whole_case_page
from tests.matrix import matrix_params
from tests.sharing.matrices import EMERGENCY_MATRIX

pytestmark = pytest.mark.django_db

REASON = "Anruf der Polizei: akute Selbstgefährdung, Fallbeteiligte nachts nicht erreichbar."


def start(personas, world, **kwargs):
    kwargs = {"reason": REASON, "hours": 1, **kwargs}
    access = emergency.emergency_access_start(actor=personas.coordinator, case=world.case, **kwargs)
    return access


def end_in_the_past(access):
    """Let the access run out (as if its hours had passed)."""
    EmergencyAccess.objects.filter(pk=access.pk).update(
        started_at=timezone.now() - timedelta(hours=2),
        expires_at=timezone.now() - timedelta(hours=1),
    )
    access.refresh_from_db()


def test_without_emergency_access_the_coordinator_cannot_read_the_case(personas, world):
    client = personas.client(personas.coordinator)
    assert client.get(reverse("cases:case", args=[world.case.pk])).status_code == 404


def test_coordinator_opens_a_case_reads_everything_and_writes_nothing(
    personas, world, mailoutbox, django_capture_on_commit_callbacks
):
    client = personas.client(personas.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("sharing:emergency"),
            {"case": world.case.number.lower(), "reason": REASON, "hours": "2"},
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:case", args=[world.case.pk])
    access = EmergencyAccess.objects.get()
    assert access.user == personas.coordinator
    assert access.expires_at - access.started_at == timedelta(hours=2)

    content = whole_case_page(client, world.case.pk)
    assert 'id="emergency-banner"' in content
    assert "Vertrauliche Beratung" in content  # counselling: the coordinator is not security
    assert "Keine polizeilichen Erkenntnisse" in content
    assert "Beispiel" in content  # identity

    # Read only: no category to write, the entry form is refused, nothing saved.
    count = world.case.entries.count()
    response = client.post(
        reverse("cases:entry_add", args=[world.case.pk]),
        {
            "entry-kind": "note",
            "entry-category": "case_coordination",
            "entry-title": "x",
            "entry-text": "y",
        },
    )
    assert response.status_code == 403
    assert "by emergency access" in response.content.decode()
    assert world.case.entries.count() == count
    assert not decide(personas.coordinator, Action.CHANGE, world.case)

    # The data protection officers hear of it at once: the case number, no content.
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [personas.dpo.email]
    assert world.case.number in mailoutbox[0].subject
    assert "Beispiel" not in mailoutbox[0].body and "Selbstgefährdung" not in mailoutbox[0].body


def test_start_read_and_end_are_audited_with_purpose(personas, world):
    access = start(personas, world)
    event = AuditEvent.objects.get(action="sharing.emergency.start")
    assert event.actor == personas.coordinator
    assert event.object_id == str(access.pk)
    assert event.details == {"case": world.case.number, "hours": 1}
    assert "Selbstgefährdung" not in json.dumps(event.details) + event.purpose  # no reason text

    personas.client(personas.coordinator).get(reverse("cases:case", args=[world.case.pk]))
    read = AuditEvent.objects.filter(action="cases.case.view", actor=personas.coordinator).get()
    assert read.purpose == "emergency access"
    # the identity is read (and recorded) where it is shown: the section "people"
    personas.client(personas.coordinator).get(
        reverse("cases:case", args=[world.case.pk]), {"section": "people"}
    )
    assert AuditEvent.objects.filter(
        action="cases.identity.view", actor=personas.coordinator
    ).exists()

    response = personas.client(personas.coordinator).post(
        reverse("sharing:emergency_end", args=[access.pk])
    )
    assert response.status_code == 302
    ended = AuditEvent.objects.get(action="sharing.emergency.end")
    assert ended.details == {"case": world.case.number, "how": "ended"}
    assert (
        personas.client(personas.coordinator)
        .get(reverse("cases:case", args=[world.case.pk]))
        .status_code
        == 404
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"reason": "kurz"}, "reason"),
        ({"reason": "   " + "x" * 5 + "   "}, "reason"),
        ({"case": "XX-2026-9999"}, "case"),
        ({"hours": "3"}, "hours"),
        ({"hours": "8"}, "hours"),
    ],
)
def test_bad_input_names_the_field_and_opens_nothing(personas, world, data, field):
    client = personas.client(personas.coordinator)
    post = {"case": world.case.number, "reason": REASON, "hours": "1", **data}
    response = client.post(reverse("sharing:emergency"), post)
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert not EmergencyAccess.objects.exists()
    assert not AuditEvent.objects.filter(action="sharing.emergency.start").exists()


def test_participants_need_no_emergency_access_and_a_second_one_is_refused(personas, world):
    with pytest.raises(Exception) as excinfo:
        emergency.emergency_access_start(
            actor=personas.partner, case=world.case, reason=REASON, hours=1
        )
    assert "coordinator" in str(excinfo.value)
    start(personas, world)
    with pytest.raises(Exception) as excinfo:
        start(personas, world)
    assert "already" in str(excinfo.value)
    # A coordinator who is a named person of a participant already reads by scope.
    Membership.objects.create(
        user=personas.partner, organisation=org(personas.partner), role=Role.COORDINATOR
    )
    with pytest.raises(Exception) as excinfo:
        emergency.emergency_access_start(
            actor=personas.partner, case=world.case, reason=REASON, hours=1
        )
    assert "take part" in str(excinfo.value)


@pytest.mark.parametrize(
    "persona", ["partner", "partner_other", "police", "hotline", "dpo", "admin", "outsider"]
)
def test_only_coordinators_reach_the_emergency_page(personas, world, persona):
    client = personas.client(getattr(personas, persona))
    assert client.get(reverse("sharing:emergency")).status_code == 404
    response = client.post(
        reverse("sharing:emergency"), {"case": world.case.number, "reason": REASON, "hours": "1"}
    )
    assert response.status_code == 404
    assert not EmergencyAccess.objects.exists()


def test_the_access_ends_by_itself_and_the_worker_records_the_end(personas, world):
    access = start(personas, world)
    end_in_the_past(access)
    assert (
        personas.client(personas.coordinator)
        .get(reverse("cases:case", args=[world.case.pk]))
        .status_code
        == 404
    )
    assert emergency.emergency_access_close_expired() == 1
    assert emergency.emergency_access_close_expired() == 0  # once
    access.refresh_from_db()
    assert access.ended_at == access.expires_at
    event = AuditEvent.objects.get(action="sharing.emergency.end")
    assert event.actor is None and event.details["how"] == "expired"


def test_a_security_sector_coordinator_never_reads_counselling_by_emergency_access(personas, world):
    """Invariant 4 holds for break-glass too: counselling reaches security only by disclosure."""
    Membership.objects.create(
        user=personas.police, organisation=org(personas.police), role=Role.COORDINATOR
    )
    other = case_services.case_open(
        actor=personas.partner_other, owner=org(personas.partner_other), pseudonym="B."
    )
    from tests.builders import entry

    entry(personas.partner_other, other, "counselling", "Beratung", "Vertraulich in Berlin.")
    entry(personas.partner_other, other, "case_coordination", "Plan", "Termine.")
    emergency.emergency_access_start(actor=personas.police, case=other, reason=REASON, hours=1)
    content = whole_case_page(personas.client(personas.police), other.pk)
    assert "Termine." in content
    assert "Vertraulich in Berlin." not in content


def test_dpo_reviews_an_ended_access_with_what_was_read(personas, world):
    access = start(personas, world)
    whole_case_page(personas.client(personas.coordinator), world.case.pk)
    dpo = personas.client(personas.dpo)

    queue = dpo.get(reverse("sharing:emergency_reviews"))
    assert queue.status_code == 200
    assert world.case.number in queue.content.decode()
    assert "1 emergency access to review" in dpo.get(reverse("home")).content.decode()

    page = dpo.get(reverse("sharing:emergency_review", args=[access.pk]))
    assert page.status_code == 200
    assert "cases.identity.view" in page.content.decode()
    assert REASON in page.content.decode()
    # Still running: the review waits.
    response = dpo.post(
        reverse("sharing:emergency_review", args=[access.pk]), {"outcome": "justified"}
    )
    assert response.status_code == 422
    assert (
        "access" not in response.context["form"].fields
        and response.context["form"].non_field_errors()
    )

    end_in_the_past(access)
    response = dpo.post(
        reverse("sharing:emergency_review", args=[access.pk]), {"outcome": "not_justified"}
    )
    assert response.status_code == 422
    assert "note" in response.context["form"].errors
    response = dpo.post(
        reverse("sharing:emergency_review", args=[access.pk]),
        {"outcome": "not_justified", "note": "Fallbeteiligte waren erreichbar."},
    )
    assert response.status_code == 302
    access.refresh_from_db()
    assert access.review_outcome == "not_justified" and access.reviewed_by == personas.dpo
    assert (
        AuditEvent.objects.get(action="sharing.emergency.review").details["outcome"]
        == "not_justified"
    )
    again = dpo.post(
        reverse("sharing:emergency_review", args=[access.pk]), {"outcome": "justified"}
    )
    assert again.status_code in (200, 422)
    access.refresh_from_db()
    assert access.review_outcome == "not_justified"


@pytest.mark.parametrize("persona", ["coordinator", "partner", "police", "admin", "hotline"])
def test_only_the_dpo_sees_the_review_queue(personas, world, persona):
    access = start(personas, world)
    client = personas.client(getattr(personas, persona))
    assert client.get(reverse("sharing:emergency_reviews")).status_code == 404
    assert client.get(reverse("sharing:emergency_review", args=[access.pk])).status_code == 404


def test_the_pages_speak_german(personas, world):
    personas.coordinator.language = "de"
    personas.coordinator.save()
    content = (
        personas.client(personas.coordinator).get(reverse("sharing:emergency")).content.decode()
    )
    assert "Notfallzugriff" in content


def test_policy_reason_names_the_emergency(personas, world):
    start(personas, world)
    decision = decide(personas.coordinator, Action.VIEW, world.counselling)
    assert decision and "emergency access" in decision.reason


# --- the API -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "persona", "expected"), list(matrix_params(EMERGENCY_MATRIX))
)
def test_emergency_endpoint_answers_persona(personas, world, method, path, persona, expected):
    other = case_services.case_open(
        actor=personas.partner_other, owner=org(personas.partner_other), pseudonym="B."
    )
    running = start(personas, world)
    ended = emergency.emergency_access_start(
        actor=personas.coordinator, case=other, reason=REASON, hours=1
    )
    end_in_the_past(ended)
    bodies = {
        "/emergency-access": {"case_number": other.number, "reason": REASON, "hours": 1},
        "/emergency-access/{ended}/review": {"outcome": "justified", "note": ""},
    }
    url = "/api/v1/sop" + path.format(running=running.pk, ended=ended.pk)
    body = bodies.get(path) if method == "POST" else None
    response = personas.client(getattr(personas, persona)).generic(
        method, url, data=json.dumps(body) if body else "", content_type="application/json"
    )
    assert response.status_code == expected, response.content[:300]
    assert "Selbstgef" not in response.content.decode() or persona in ("coordinator", "dpo")


def test_api_bad_input_names_the_field(personas, world):
    client = personas.client(personas.coordinator)
    response = client.post(
        "/api/v1/sop/emergency-access",
        {"case_number": world.case.number, "reason": "kurz", "hours": 5},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"reason", "hours"}
    assert not EmergencyAccess.objects.exists()


def test_api_start_then_read_the_case(personas, world):
    client = personas.client(personas.coordinator)
    response = client.post(
        "/api/v1/sop/emergency-access",
        {"case_number": world.case.number, "reason": REASON, "hours": 4},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["case_number"] == world.case.number and body["active"] is True
    entries = client.get(f"/api/v1/cases/{world.case.pk}/entries")
    assert entries.status_code == 200
    assert "Vertrauliche Beratung" in entries.content.decode()
