"""A change that changes nothing records no change: sent twice (or with the values the record
already has), every operation that changes something writes its audit event once — the
second time only reads are recorded. Page and API alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from casebridge.audit.models import AuditEvent
from casebridge.cases import services as case_services
from casebridge.cases.models import Goal
from casebridge.network import services as network_services

pytestmark = pytest.mark.django_db

READS = (".view", ".list", ".view_metadata", ".identity", ".search")


def _last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _writes_after(after: int, upto: int | None = None) -> list[str]:
    """The actions recorded after event ``after`` (up to ``upto``), reads left out."""
    events = AuditEvent.objects.filter(id__gt=after).order_by("id")
    if upto is not None:
        events = events.filter(id__lte=upto)
    return [a for a in events.values_list("action", flat=True) if not a.endswith(READS)]


def _twice(send) -> tuple[list[str], list[str]]:
    """The changes recorded for the first and for the second sending of the same request."""
    start = _last_id()
    first = send()
    assert first.status_code in (200, 201, 302), first.content[:300]
    middle = _last_id()
    second = send()
    assert second.status_code in (200, 201, 302), second.content[:300]
    return _writes_after(start, middle), _writes_after(middle)


def _json(client, method, path, body):
    return getattr(client, method)(path, body, content_type="application/json")


def test_patching_a_contact_with_what_it_holds_records_no_change(personas, make_contact):
    contact = make_contact(summary="Sorge um den Sohn")
    client = personas.client(personas.hotline)
    path = f"/api/v1/hotline/contacts/{contact.pk}"
    start = _last_id()
    assert _json(client, "patch", path, {}).status_code == 200
    same = {"summary": "Sorge um den Sohn", "ended_at": contact.ended_at.isoformat()}
    assert _json(client, "patch", path, same).status_code == 200
    assert _writes_after(start) == []
    assert not AuditEvent.objects.filter(action="hotline.contact.change").exists()
    changed, again = _twice(lambda: _json(client, "patch", path, {"summary": "Neu"}))
    assert (changed, again) == (["hotline.contact.update"], [])


def test_saving_the_contact_form_unchanged_records_no_change(personas, make_contact):
    contact = make_contact()
    client = personas.client(personas.hotline)
    url = reverse("hotline:contact_edit", args=[contact.pk])
    form = client.get(url).context["form"]
    data = {
        name: value
        for name, value in (
            (field.html_name, field.value()) for field in form if field.value() is not None
        )
    }
    data["concern_topics"] = [t.pk for t in contact.concern_topics.all()]
    data = {
        name: (value.strftime("%Y-%m-%dT%H:%M") if hasattr(value, "strftime") else value)
        for name, value in data.items()
    }
    start = _last_id()
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    assert _writes_after(start) == []
    stored = type(contact).objects.get(pk=contact.pk)
    assert (stored.started_at, stored.ended_at) == (contact.started_at, contact.ended_at)


def test_the_same_phase_goal_status_and_scope_again_record_nothing(personas, world):
    client = personas.client(personas.partner)
    case = world.case
    goal = case_services.goal_add(actor=personas.partner, case=case, horizon="interim", title="G")
    police_seat = case.participants.get(organisation__memberships__user=personas.police)
    read = sorted(police_seat.read_categories.values_list("code", flat=True))
    write = sorted(police_seat.write_categories.values_list("code", flat=True))
    sends = {
        "phase": lambda: _json(
            client, "post", f"/api/v1/cases/{case.pk}/phase", {"phase": "stabilisation"}
        ),
        "goal": lambda: _json(
            client,
            "post",
            f"/api/v1/cases/{case.pk}/goals/{goal.pk}/status",
            {"status": Goal.Status.REACHED},
        ),
        "scope": lambda: _json(
            client,
            "post",
            f"/api/v1/cases/{case.pk}/participants/{police_seat.pk}/scope",
            {"read": [*read, "justice"], "write": write, "reason": "SOP"},
        ),
    }
    for name, send in sends.items():
        changed, again = _twice(send)
        assert len(changed) == 1 and again == [], (name, changed, again)


def _meeting(personas, starts_in: timedelta, invitees):
    start = timezone.now() + starts_in
    return network_services.meeting_create(
        actor=personas.coordinator,
        title="AG Schulen",
        kind="working_group",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        invitees=invitees,
    )


def test_the_same_user_organisation_and_meeting_values_again_record_nothing(personas):
    admin = personas.client(personas.admin)
    coordinator = personas.client(personas.coordinator)
    organisation = personas.partner.memberships.get().organisation
    meeting = _meeting(personas, timedelta(days=2), [personas.partner])
    partner = personas.client(personas.partner)
    sends = {
        "user": lambda: _json(
            admin, "patch", f"/api/v1/users/{personas.partner.pk}", {"first_name": "Petra"}
        ),
        "organisation": lambda: _json(
            admin, "patch", f"/api/v1/organisations/{organisation.pk}", {"phone": "040 1"}
        ),
        "meeting": lambda: _json(
            coordinator, "patch", f"/api/v1/meetings/{meeting.pk}", {"location": "Raum 2"}
        ),
        "respond": lambda: _json(
            partner, "post", f"/api/v1/meetings/{meeting.pk}/respond", {"response": "accepted"}
        ),
    }
    for name, send in sends.items():
        changed, again = _twice(send)
        assert len(changed) == 1 and again == [], (name, changed, again)


def test_the_same_attendance_again_records_nothing(personas):
    coordinator = personas.client(personas.coordinator)
    meeting = _meeting(personas, -timedelta(hours=3), [personas.partner, personas.police])
    changed, again = _twice(
        lambda: _json(
            coordinator,
            "post",
            f"/api/v1/meetings/{meeting.pk}/attendance",
            {"present": ["police"]},
        )
    )
    assert (changed, again) == (["network.meeting.attendance"], [])
