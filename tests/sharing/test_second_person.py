"""The second person of the four-eyes rule (issue 17.5): the requester names the colleague
to approve (or the organisation's coordinators are told); the approver judges the whole
context on one page without a seat in the case; both hear of it by mail, case number only."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.urls import reverse

from casebridge.accounts.models import Membership, Role
from casebridge.audit.models import AuditEvent
from casebridge.sharing import services
from casebridge.sharing.models import Disclosure
from tests.builders import category, make_user, org, term

pytestmark = pytest.mark.django_db

EXCERPT = "Plant eine Reise nach Syrien im Mai."


@pytest.fixture
def colleagues(personas, world):
    """Two colleagues named in the lead's participation, and a coordinator of the lead's
    organisation who has no seat in the case."""
    organisation = org(personas.partner)
    first = make_user("erste", organisation, "partner_counsellor")
    second = make_user("zweite", organisation, "partner_counsellor")
    world.lead.members.add(first, second)
    coordinator = make_user("leitung", organisation, Role.COORDINATOR)
    return first, second, coordinator


def disclose(personas, world, **changes) -> Disclosure:
    values = {
        "actor": personas.partner,
        "case": world.case,
        "to_participant": world.police,
        "entries": [world.counselling],
        "purpose": "Gefahrenabwehr",
        "legal_basis": term("legal_basis", "justifying_emergency"),
        "justification": "Konkrete Reiseplanung.",
    }
    values.update(changes)
    return services.disclosure_request(**values)


def test_the_named_colleague_alone_approves_besides_the_coordinators(personas, world, colleagues):
    first, second, _coordinator = colleagues
    mail.outbox.clear()
    with_approver = disclose(personas, world, approver=first)
    assert with_approver.status == "pending" and with_approver.approver == first
    # second is a colleague in the case but not the one asked
    response = personas.client(second).post(
        reverse("sharing:disclosure_decide", args=[with_approver.pk]), {"decision": "approve"}
    )
    assert response.status_code == 404
    with_approver.refresh_from_db()
    assert with_approver.status == "pending"
    assert (
        "you are asked by name"
        in personas.client(first).get(reverse("sharing:tasks")).content.decode()
    )
    personas.client(first).post(
        reverse("sharing:disclosure_decide", args=[with_approver.pk]), {"decision": "approve"}
    )
    with_approver.refresh_from_db()
    assert with_approver.status == "approved" and with_approver.decided_by == first


def test_mails_name_the_case_only(personas, world, colleagues, django_capture_on_commit_callbacks):
    first, _second, _coordinator = colleagues
    personas.partner.email = "partner@example.org"
    personas.partner.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        named = disclose(personas, world, approver=first)
    assert [m.to for m in mail.outbox] == [["erste@example.org"]]
    assert world.case.number in mail.outbox[0].subject
    with django_capture_on_commit_callbacks(execute=True):
        disclose(personas, world)  # nobody named: the coordinators hear of it
    assert mail.outbox[1].to == ["leitung@example.org"]
    with django_capture_on_commit_callbacks(execute=True):
        services.disclosure_decide(actor=first, disclosure=named, approve=False)
    assert mail.outbox[2].to == ["partner@example.org"] and "rejected" in mail.outbox[2].subject
    for message in mail.outbox:
        assert "Syrien" not in message.body and "Vertrauliche" not in message.body
        assert "Gefahrenabwehr" not in message.body


def test_only_a_colleague_in_the_case_or_a_coordinator_can_be_named(personas, world, colleagues):
    for stranger in (personas.police, personas.partner_other, personas.partner):
        with pytest.raises(Exception) as refused:
            disclose(personas, world, approver=stranger)
        assert "approver" in str(refused.value)
    assert not Disclosure.objects.exists()
    response = personas.client(personas.partner).post(
        f"/api/v1/sop/cases/{world.case.pk}/disclosures",
        json.dumps(
            {
                "to_participant_id": world.police.pk,
                "entries": [world.counselling.pk],
                "purpose": "p",
                "legal_basis": "justifying_emergency",
                "justification": "j",
                "approver_id": personas.police.pk,
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 422 and "approver_id" in response.content.decode()
    assert not Disclosure.objects.exists()


def test_a_coordinator_without_a_seat_judges_the_whole_context(personas, world, colleagues):
    _first, _second, coordinator = colleagues
    disclosure = disclose(
        personas, world, entries=[], excerpt=EXCERPT, excerpt_category=category("counselling")
    )
    client = personas.client(coordinator)
    assert client.get(reverse("cases:case", args=[world.case.pk])).status_code == 404
    page = client.get(reverse("sharing:disclosure_review", args=[disclosure.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    for shown in (EXCERPT, "Gefahrenabwehr", "Konkrete Reiseplanung.", world.case.number):
        assert shown in body
    assert "Vertrauliche Beratung" not in body  # nothing of the case beyond the disclosure
    assert AuditEvent.objects.filter(action="sharing.disclosure.review", actor=coordinator).exists()
    api = client.get(f"/api/v1/sop/disclosures/{disclosure.pk}").json()
    assert api["excerpt"] == EXCERPT and api["case_number"] == world.case.number
    client.post(reverse("sharing:disclosure_decide", args=[disclosure.pk]), {"decision": "approve"})
    disclosure.refresh_from_db()
    assert disclosure.status == "approved"
    # decided: the review page is gone for everyone
    assert client.get(reverse("sharing:disclosure_review", args=[disclosure.pk])).status_code == 404


def test_the_requester_and_strangers_cannot_open_the_review(personas, world, colleagues):
    disclosure = disclose(personas, world)
    for user in (personas.partner, personas.police, personas.partner_other, personas.dpo):
        client = personas.client(user)
        assert (
            client.get(reverse("sharing:disclosure_review", args=[disclosure.pk])).status_code
            == 404
        )
        assert client.get(f"/api/v1/sop/disclosures/{disclosure.pk}").status_code == 404


def test_an_ended_coordinator_membership_ends_the_right_to_approve(personas, world, colleagues):
    _first, _second, coordinator = colleagues
    disclosure = disclose(personas, world)
    Membership.objects.filter(user=coordinator).update(valid_until=disclosure.requested_at)
    client = personas.client(coordinator)
    assert client.get(reverse("sharing:disclosure_review", args=[disclosure.pk])).status_code == 404
