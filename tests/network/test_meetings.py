"""Network meetings: plan, invite, answer, attendance, minutes, decisions, action items in
the owner's task list, the month calendar, iCalendar export, and the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from casebridge.audit.models import AuditEvent
from casebridge.network import ical
from casebridge.network.models import ActionItem, Invitation, Meeting


def _plan(client, invitees, *, start=None, **extra):
    start = start or (timezone.localtime() + timedelta(days=3)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    data = {
        "title": "Round table Hamburg",
        "kind": "formal",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "location": "Room 4, Alsterdorf",
        "agenda": "1. Exchange; 2. Contact points",
        "invitees": [u.pk for u in invitees],
        **extra,
    }
    return client.post(reverse("network:meeting_create"), data)


@pytest.mark.django_db
def test_plan_invite_answer_and_keep_minutes(personas):
    coordinator = personas.client(personas.coordinator)
    response = _plan(coordinator, [personas.partner, personas.police])
    assert response.status_code == 302
    meeting = Meeting.objects.get()
    assert set(meeting.invitations.values_list("user__username", "response")) == {
        ("coordinator", "accepted"),
        ("partner", "pending"),
        ("police", "pending"),
    }
    partner = personas.client(personas.partner)
    partner.post(reverse("network:meeting_respond", args=[meeting.pk]), {"response": "declined"})
    assert Invitation.objects.get(user=personas.partner).response == "declined"
    # An invitee may read, not keep the minutes.
    page = partner.get(reverse("network:meeting", args=[meeting.pk]))
    assert "Round table Hamburg" in page.content.decode()
    assert partner.get(reverse("network:meeting_edit", args=[meeting.pk])).status_code == 403
    # Not invited: the meeting does not exist.
    other = personas.client(personas.partner_other)
    assert other.get(reverse("network:meeting", args=[meeting.pk])).status_code == 404
    assert personas.client(personas.outsider).get(reverse("network:meetings")).status_code == 403

    coordinator.post(
        reverse("network:meeting_decision", args=[meeting.pk]), {"text": "Meet monthly"}
    )
    assert list(meeting.decisions.values_list("text", flat=True)) == ["Meet monthly"]


@pytest.mark.django_db
def test_meeting_must_end_after_it_starts(personas):
    client = personas.client(personas.coordinator)
    start = timezone.localtime() + timedelta(days=1)
    response = _plan(client, [], start=start, ends_at=start.strftime("%Y-%m-%dT%H:%M"))
    assert response.status_code == 200
    assert response.context["form"].errors["ends_at"] == ["The meeting must end after it starts."]
    assert not Meeting.objects.exists()


@pytest.mark.django_db
def test_action_item_appears_in_the_owners_task_list_until_done(personas):
    coordinator = personas.client(personas.coordinator)
    _plan(coordinator, [personas.police])
    meeting = Meeting.objects.get()
    due = (timezone.localdate() + timedelta(days=10)).isoformat()
    response = coordinator.post(
        reverse("network:meeting_action_item", args=[meeting.pk]),
        {
            "title": "Name a contact point in every station",
            "owner": personas.police.pk,
            "due_on": due,
        },
    )
    assert response.status_code == 302
    police = personas.client(personas.police)
    tasks = police.get(reverse("sharing:tasks")).content.decode()
    assert "Name a contact point in every station" in tasks
    home = police.get(reverse("home")).content.decode()
    assert "1 action item from a meeting" in home
    item = ActionItem.objects.get()
    # Somebody else may not close it.
    assert (
        personas.client(personas.partner)
        .post(reverse("network:action_item_done", args=[item.pk]))
        .status_code
        == 404
    )
    police.post(reverse("network:action_item_done", args=[item.pk]), {"next": "tasks"})
    assert "Name a contact point" not in police.get(reverse("sharing:tasks")).content.decode()
    actions = list(
        AuditEvent.objects.filter(action__startswith="network.action_item").values_list(
            "action", flat=True
        )
    )
    assert actions == ["network.action_item.create", "network.action_item.done"]


@pytest.mark.django_db
def test_action_item_needs_an_owner_and_a_due_date(personas):
    coordinator = personas.client(personas.coordinator)
    _plan(coordinator, [])
    meeting = Meeting.objects.get()
    response = coordinator.post(
        reverse("network:meeting_action_item", args=[meeting.pk]), {"title": "Something"}
    )
    assert response.status_code == 422
    errors = response.context["action_form"].errors
    assert set(errors) == {"owner", "due_on"}
    assert not ActionItem.objects.exists()
    outsider_item = coordinator.post(
        reverse("network:meeting_action_item", args=[meeting.pk]),
        {"title": "x", "owner": personas.outsider.pk, "due_on": "2026-12-01"},
    )
    assert "owner" in outsider_item.context["action_form"].errors


@pytest.mark.django_db
def test_attendance_after_the_meeting_marks_it_held(personas):
    coordinator = personas.client(personas.coordinator)
    _plan(
        coordinator,
        [personas.partner, personas.police],
        start=timezone.localtime() - timedelta(hours=3),
    )
    meeting = Meeting.objects.get()
    coordinator.post(
        reverse("network:meeting_attendance", args=[meeting.pk]), {"present": [personas.police.pk]}
    )
    attended = dict(meeting.invitations.values_list("user__username", "attended"))
    assert attended == {"coordinator": False, "partner": False, "police": True}
    meeting.refresh_from_db()
    assert meeting.status == "held"


@pytest.mark.django_db
def test_month_calendar_lists_the_users_meetings(personas):
    coordinator = personas.client(personas.coordinator)
    start = timezone.localtime().replace(day=15, hour=9, minute=0, second=0, microsecond=0)
    _plan(coordinator, [personas.partner], start=start)
    month = start.strftime("%Y-%m")
    page = personas.client(personas.partner).get(reverse("network:meetings"), {"month": month})
    assert "Round table Hamburg" in page.content.decode()
    following = (start.replace(day=1) + timedelta(days=32)).strftime("%Y-%m")
    later = personas.client(personas.partner).get(reverse("network:meetings"), {"month": following})
    assert "Round table Hamburg" not in later.content.decode()
    bad = personas.client(personas.partner).get(reverse("network:meetings"), {"month": "x"})
    assert bad.status_code == 200
    hidden = personas.client(personas.police).get(reverse("network:meetings"), {"month": month})
    assert "Round table Hamburg" not in hidden.content.decode()


@pytest.mark.django_db
def test_icalendar_export_of_one_meeting_and_the_feed(personas):
    coordinator = personas.client(personas.coordinator)
    _plan(coordinator, [personas.partner], agenda="Rückblick; Fälle, Anliegen\nNächste Schritte")
    meeting = Meeting.objects.get()
    response = personas.client(personas.partner).get(
        reverse("network:meeting_ics", args=[meeting.pk])
    )
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    unfolded = body.replace("\r\n ", "")
    assert "DESCRIPTION:Rückblick\\; Fälle\\, Anliegen\\nNächste Schritte\r\n" in unfolded
    assert f"UID:meeting-{meeting.pk}@testserver" in unfolded
    assert f"DTSTART:{meeting.starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}" in unfolded
    feed = personas.client(personas.partner).get(reverse("network:meetings_ics")).content.decode()
    assert feed.count("BEGIN:VEVENT") == 1
    assert (
        personas.client(personas.police)
        .get(reverse("network:meetings_ics"))
        .content.decode()
        .count("BEGIN:VEVENT")
        == 0
    )


def test_text_escaping():
    assert ical.escape_text("a\\b;c,d\ne\r\nf") == "a\\\\b\\;c\\,d\\ne\\nf"


def test_folding_keeps_lines_within_75_octets_and_characters_whole():
    line = "DESCRIPTION:" + "Ä" * 100
    folded = ical.fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line
    assert ical.fold("SUMMARY:short") == "SUMMARY:short"


@given(st.text(max_size=400))
def test_folding_round_trips_any_text(text):
    line = "SUMMARY:" + ical.escape_text(text)
    folded = ical.fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert folded.replace("\r\n ", "") == line


def test_calendar_has_crlf_lines_and_a_cancelled_status():
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    text = ical.calendar(
        [ical.Event("m-1@x", start, start + timedelta(hours=1), "Jour fixe", cancelled=True)],
        name="casebridge",
        stamp=start,
    )
    lines = text.split("\r\n")
    assert lines[-1] == "" and "\n" not in "".join(lines)
    assert "STATUS:CANCELLED" in lines
    assert "DTEND:20261201T100000Z" in lines


@pytest.mark.django_db
def test_meetings_through_the_api(personas):
    client = personas.client(personas.coordinator)
    start = timezone.now() + timedelta(days=2)
    created = client.post(
        "/api/v1/meetings",
        {
            "title": "Working group schools",
            "kind": "working_group",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "invitees": ["partner"],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    meeting_id = created.json()["id"]
    bad = client.post(
        "/api/v1/meetings",
        {
            "title": "x",
            "kind": "formal",
            "starts_at": start.isoformat(),
            "ends_at": start.isoformat(),
        },
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert "ends_at" in bad.json()["fields"]
    item = client.post(
        f"/api/v1/meetings/{meeting_id}/action-items",
        {"title": "Draft the leaflet", "owner": "partner", "due_on": "2026-12-20"},
        content_type="application/json",
    )
    assert item.status_code == 201
    partner = personas.client(personas.partner)
    mine = partner.get("/api/v1/action-items").json()
    assert [i["title"] for i in mine] == ["Draft the leaflet"]
    assert partner.post(f"/api/v1/action-items/{mine[0]['id']}/done").json()["done"] is True
    patched = partner.patch(
        f"/api/v1/meetings/{meeting_id}", {"minutes": "x"}, content_type="application/json"
    )
    assert patched.status_code == 403
    assert personas.client(personas.police).get(f"/api/v1/meetings/{meeting_id}").status_code == 404
    updated = client.patch(
        f"/api/v1/meetings/{meeting_id}", {"minutes": "Agreed."}, content_type="application/json"
    )
    assert updated.json()["minutes"] == "Agreed."
    assert Meeting.objects.get().sequence == 1


def test_invitees_of_one_name_are_told_apart_by_email_and_organisation(personas):
    """Issue 18: the network-wide people pickers show e-mail and organisation."""
    from django.urls import reverse

    from tests.builders import make_user, org

    twin = make_user("twin", org(personas.police), "security_liaison")
    twin.first_name, twin.last_name = personas.partner.first_name, personas.partner.last_name
    twin.save()
    page = personas.client(personas.coordinator).get(reverse("network:meeting_create"))
    text = page.content.decode()
    assert f"Partner Persona · partner@example.org ({org(personas.partner).name})" in text
    assert f"Partner Persona · twin@example.org ({org(personas.police).name})" in text
