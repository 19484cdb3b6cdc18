"""The hotline's own path to the authorities (issue 17.1): the first analysis on the phone
finds a danger, the hotline's procedure asks whom to inform, a counsellor prepares the
disclosure, a second person of the hotline sends it, the recipient reads and confirms it.
Nothing reaches the recipient before the second person; nothing of the contact behind it
ever does."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from casebridge.access.policy import Action, decide, visible
from casebridge.audit.models import AuditEvent
from casebridge.hotline.models import Contact
from casebridge.network.models import Organisation
from casebridge.sharing import services
from casebridge.sharing.models import ContactDisclosure, ContactEvent
from casebridge.stats import indicators
from tests.builders import make_contact, make_user, organisation_of_type, term
from tests.matrix import matrix_params
from tests.sharing.matrices import HOTLINE_DISCLOSURE_MATRIX

pytestmark = pytest.mark.django_db

EXCERPT = "Der Sohn kündigt einen Anschlag auf die Moschee am Freitag an."
IDENTITY = "Max Beispiel, Elbstraße 5, Hamburg"
PREPARED = {
    "excerpt": EXCERPT,
    "identity": IDENTITY,
    "purpose": "Gefahrenabwehr",
    "legal_basis": "justifying_emergency",
    "justification": "Gegenwärtige Gefahr für Leib und Leben; anders nicht abwendbar.",
}


def danger(personas, **values) -> ContactDisclosure:
    contact = make_contact(personas, first_analysis={"danger_to_others": "yes"}, **values)
    return ContactDisclosure.objects.get(contact=contact)


def prepare(personas, disclosure, **changes):
    values = {
        **PREPARED,
        "legal_basis": term("legal_basis", "justifying_emergency"),
        "recipient": disclosure.recipient,
        "approver": personas.coordinator,
        **changes,
    }
    return services.contact_disclosure_prepare(
        actor=personas.hotline, disclosure=disclosure, **values
    )


def api(client, method, url, data=None):
    return client.generic(
        method, url, json.dumps(data) if data is not None else "", "application/json"
    )


def test_a_danger_in_the_first_analysis_starts_the_hotline_procedure(personas):
    client = personas.client(personas.hotline)
    intake = client.get(reverse("hotline:intake")).content.decode()
    assert "First analysis" in intake and "Danger to others" in intake
    started = timezone.localtime() - timedelta(minutes=15)
    response = client.post(
        reverse("hotline:intake"),
        {
            "channel": "phone",
            "started_at": started.strftime("%Y-%m-%dT%H:%M"),
            "language": "de",
            "caller_category": "parents_relatives",
            "caller_postcode": "20095",
            "anonymous": "on",
            "person_age_band": "18_21",
            "person_gender": "male",
            "contact_category": "clarification_needed",
            "analysis_person_named": "yes",
            "analysis_danger_to_others": "yes",
            "analysis_danger_to_self": "no",
            "summary": "Mutter berichtet von Anschlagsplänen.",
        },
    )
    assert response.status_code == 302, response.content[:500]
    contact = Contact.objects.get()
    assert response["Location"] == reverse("hotline:contact", args=[contact.pk]) + "#protocol"
    assert contact.first_analysis == {
        "person_named": "yes",
        "danger_to_others": "yes",
        "danger_to_self": "no",
    }
    event = ContactEvent.objects.get(contact=contact)
    assert event.code == "danger_to_others"
    disclosure = ContactDisclosure.objects.get(contact=contact)
    police = Organisation.objects.get(pk=personas.police.memberships.get().organisation_id)
    assert disclosure.recipient == police  # the Hamburg liaison unit, by the caller's region
    assert disclosure.status == "open" and disclosure.duty == "must_inform"
    assert disclosure.legal_basis.code == "justifying_emergency"
    assert timedelta(hours=3) < disclosure.due_at - timezone.now() <= timedelta(hours=4)
    assert set(disclosure.categories) == {"risk_assessment", "identity"}
    page = client.get(reverse("hotline:contact", args=[contact.pk])).content.decode()
    assert "Danger and the hotline" in page and "inform the police liaison unit" in page
    raised = AuditEvent.objects.get(action="sharing.contact_event.raise")
    assert raised.details["event"] == "danger_to_others" and raised.details["disclosures"] == 1


def test_the_page_in_german(personas):
    personas.hotline.language = "de"
    personas.hotline.save()
    disclosure = danger(personas)
    client = personas.client(personas.hotline)
    client.cookies["django_language"] = "de"
    page = client.get(
        reverse("hotline:contact", args=[disclosure.contact_id]), HTTP_ACCEPT_LANGUAGE="de"
    )
    text = page.content.decode()
    assert "Erste Analyse" in text and "Gefahr für andere" in text
    response = client.post(
        reverse("sharing:contact_disclosure", args=[disclosure.pk]),
        {**PREPARED, "recipient": disclosure.recipient_id},
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert response.status_code == 422
    assert "zweite Person" in response.content.decode()


def test_nothing_reaches_the_recipient_before_the_second_person(personas):
    disclosure = danger(personas)
    police = personas.client(personas.police)
    detail = reverse("sharing:contact_disclosure", args=[disclosure.pk])
    for status in ("open", "pending"):
        if status == "pending":
            prepare(personas, disclosure)
        assert police.get(detail).status_code == 404
        assert api(police, "GET", "/api/v1/sop/hotline-disclosures").json() == []
        response = api(police, "GET", f"/api/v1/sop/hotline-disclosures/{disclosure.pk}")
        assert response.status_code == 404
        assert EXCERPT not in police.get(reverse("sharing:tasks")).content.decode()
        assert (
            api(
                police, "POST", f"/api/v1/sop/hotline-disclosures/{disclosure.pk}/receive"
            ).status_code
            == 404
        )


def test_prepare_send_read_and_confirm(personas, django_capture_on_commit_callbacks):
    disclosure = danger(
        personas, anonymous=False, caller_name="Erika Beispiel", caller_phone="+49 40 0000 1234"
    )
    hotline = personas.client(personas.hotline)
    page = hotline.get(reverse("sharing:contact_disclosure", args=[disclosure.pk]) + "?prepare")
    assert page.status_code == 200
    assert "Responsible for the person" in page.content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = hotline.post(
            reverse("sharing:contact_disclosure", args=[disclosure.pk]),
            {
                **PREPARED,
                "recipient": disclosure.recipient_id,
                "include_caller_contact": "on",
                "approver": personas.coordinator.pk,
            },
        )
    assert response.status_code == 302, response.content[:800]
    disclosure.refresh_from_db()
    assert disclosure.status == "pending" and disclosure.requested_by == personas.hotline
    assert [m.to for m in mail.outbox] == [[personas.coordinator.email]]
    assert EXCERPT not in mail.outbox[0].body and "Beispiel" not in mail.outbox[0].body

    # the one who prepared it cannot send it
    own = api(
        hotline, "POST", f"/api/v1/sop/hotline-disclosures/{disclosure.pk}/decide", {"send": True}
    )
    assert own.status_code == 403
    disclosure.refresh_from_db()
    assert disclosure.status == "pending"

    mail.outbox.clear()
    coordinator = personas.client(personas.coordinator)
    review = coordinator.get(reverse("sharing:contact_disclosure", args=[disclosure.pk]))
    assert EXCERPT in review.content.decode() and "Approve and send" in review.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = coordinator.post(
            reverse("sharing:contact_disclosure_decide", args=[disclosure.pk]),
            {"decision": "send"},
        )
    assert response.status_code == 302
    disclosure.refresh_from_db()
    assert disclosure.status == "sent" and disclosure.decided_by == personas.coordinator
    to_police = [m for m in mail.outbox if personas.police.email in m.to]
    assert to_police and EXCERPT not in to_police[0].body and "Beispiel" not in to_police[0].body

    police = personas.client(personas.police)
    listed = api(police, "GET", "/api/v1/sop/hotline-disclosures").json()
    assert [row["id"] for row in listed] == [disclosure.pk]
    assert listed[0]["contact_reference"] is None  # the contact stays with the hotline
    detail = api(police, "GET", f"/api/v1/sop/hotline-disclosures/{disclosure.pk}").json()
    assert detail["excerpt"] == EXCERPT and detail["identity"] == IDENTITY
    assert detail["caller"]["phone"] == "+49 40 0000 1234"
    assert "summary" not in detail and "Anschlagsplänen" not in json.dumps(detail)
    read = AuditEvent.objects.filter(
        action="sharing.contact_disclosure.view", actor=personas.police
    )
    assert read.exists()
    tasks = police.get(reverse("sharing:tasks")).content.decode()
    assert "From the hotline: not yet confirmed" in tasks
    # the contact behind it stays closed
    assert police.get(reverse("hotline:contact", args=[disclosure.contact_id])).status_code == 404
    response = police.post(reverse("sharing:contact_disclosure_receive", args=[disclosure.pk]))
    assert response.status_code == 302
    disclosure.refresh_from_db()
    assert disclosure.received_by == personas.police
    page = hotline.get(reverse("hotline:contact", args=[disclosure.contact_id])).content.decode()
    assert "receipt confirmed" in page
    # no audit event carries what was passed on
    for event in AuditEvent.objects.filter(action__startswith="sharing.contact_"):
        assert EXCERPT not in json.dumps(event.details) and "Beispiel" not in json.dumps(
            event.details
        )
    # the statistic counts it: security sector, § 34
    informed = indicators.hotline_informed(
        indicators.Filters(timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1))
    )
    row = informed.rows.index(term("legal_basis", "justifying_emergency").label)
    column = informed.columns.index("Security authorities")
    assert sum(cells[row][column] for cells in informed.slots.values()) == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"approver": None}, "approver", "Name the second person of the hotline"),
        ({"purpose": ""}, "purpose", "State the purpose"),
        ({"excerpt": ""}, "excerpt", "Write what is passed on"),
        ({"excerpt": "x" * 4001}, "excerpt", "At most 4000"),
        ({"identity": "x" * 1001}, "identity", "At most 1000"),
        ({"justification": " "}, "justification", "Write the weighing"),
        ({"legal_basis": None}, "legal_basis", "Choose the legal basis"),
        ({"recipient": None}, "recipient", "Choose the organisation to inform"),
        ({"include_caller_contact": True}, "include_caller_contact", "stayed anonymous"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(personas, changes, field, message):
    disclosure = danger(personas)
    before = list(ContactDisclosure.objects.values())
    with pytest.raises(services.ValidationError) as error:
        prepare(personas, disclosure, **changes)
    assert message in " ".join(error.value.message_dict[field])
    assert list(ContactDisclosure.objects.values()) == before


def test_the_api_refuses_a_recipient_of_another_kind_and_oneself_as_second_person(personas):
    disclosure = danger(personas)
    client = personas.client(personas.hotline)
    partner = organisation_of_type("ngo_counselling_partner", "DE-HH")
    url = f"/api/v1/sop/hotline-disclosures/{disclosure.pk}/prepare"
    body = {**PREPARED, "recipient_id": partner.pk, "approver_id": personas.coordinator.pk}
    response = api(client, "POST", url, body)
    assert response.status_code == 422 and "recipient_id" in response.content.decode()
    body = {**PREPARED, "recipient_id": disclosure.recipient_id, "approver_id": personas.hotline.pk}
    response = api(client, "POST", url, body)
    assert response.status_code == 422 and "other than yourself" in response.content.decode()
    response = api(client, "POST", url, {**body, "approver_id": None})
    assert response.status_code == 422 and "second person" in response.content.decode()
    disclosure.refresh_from_db()
    assert disclosure.status == "open" and disclosure.excerpt == ""
    # a police unit of another state is of the right kind, not the region's: allowed, the
    # counsellor may know better (a person moving), and named on the page as not responsible
    berlin = organisation_of_type("police_liaison_unit", "DE-BE")
    body = {**PREPARED, "recipient_id": berlin.pk, "approver_id": personas.coordinator.pk}
    assert api(client, "POST", url, body).status_code == 200


def test_the_second_person_sends_it_back_with_a_reason_and_it_is_prepared_again(personas):
    disclosure = danger(personas)
    prepare(personas, disclosure)
    coordinator = personas.client(personas.coordinator)
    url = f"/api/v1/sop/hotline-disclosures/{disclosure.pk}/decide"
    response = api(coordinator, "POST", url, {"send": False})
    assert response.status_code == 422 and "Say why it goes back" in response.content.decode()
    response = api(coordinator, "POST", url, {"send": False, "note": "Identität nicht nötig."})
    assert response.status_code == 200 and response.json()["status"] == "open"
    disclosure.refresh_from_db()
    assert disclosure.note == "Identität nicht nötig."
    prepare(personas, disclosure, identity="")
    disclosure.refresh_from_db()
    assert disclosure.status == "pending" and disclosure.note == ""


def test_not_sent_with_a_reason(personas):
    disclosure = danger(personas)
    client = personas.client(personas.hotline)
    url = f"/api/v1/sop/hotline-disclosures/{disclosure.pk}/cancel"
    assert api(client, "POST", url, {"reason": " "}).status_code == 422
    response = api(client, "POST", url, {"reason": "Die Polizei war bereits vor Ort."})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert api(client, "POST", url, {"reason": "noch einmal"}).status_code == 422


def test_an_event_is_recorded_once_and_only_a_hotline_event(personas):
    contact = make_contact(personas)
    client = personas.client(personas.hotline)
    url = f"/api/v1/sop/contacts/{contact.pk}/events"
    response = api(client, "POST", url, {"code": "child_at_risk"})
    assert response.status_code == 201
    rows = response.json()
    assert [row["rule"] for row in rows] == ["hotline-child-at-risk"]
    # the youth welfare office seated in Hamburg, found by the caller's region
    assert rows[0]["recipient"] == organisation_of_type("youth_welfare_office", "DE-HH").name
    assert api(client, "POST", url, {"code": "child_at_risk"}).status_code == 422
    assert api(client, "POST", url, {"code": "case_closed"}).status_code == 422
    assert ContactDisclosure.objects.count() == 1
    assert ContactEvent.objects.count() == 1
    # the directory names no crisis service in the Saarland: the counsellor chooses
    saarland = make_contact(personas, caller_postcode="66111")
    response = api(
        client, "POST", f"/api/v1/sop/contacts/{saarland.pk}/events", {"code": "danger_to_self"}
    )
    assert response.status_code == 201 and response.json()[0]["recipient"] is None
    assert ContactDisclosure.objects.count() == 2
    # a partner cannot record anything on a hotline contact
    partner = personas.client(personas.partner)
    assert api(partner, "POST", url, {"code": "danger_to_self"}).status_code == 404


def test_a_bad_first_analysis_names_the_field(personas):
    with pytest.raises(services.ValidationError) as error:
        make_contact(personas, first_analysis={"horoscope": "yes"})
    assert "horoscope" in " ".join(error.value.message_dict["first_analysis"])
    with pytest.raises(services.ValidationError) as error:
        make_contact(personas, first_analysis={"danger_to_self": "maybe"})
    assert "yes, no or unclear" in " ".join(error.value.message_dict["first_analysis"])
    assert not Contact.objects.exists()


def test_outsiders_see_nothing_on_any_path(personas):
    disclosure = danger(personas)
    prepare(personas, disclosure)
    services.contact_disclosure_decide(
        actor=personas.coordinator, disclosure=disclosure, approve=True
    )
    berlin_police = make_user(
        "lka_be", organisation_of_type("police_liaison_unit", "DE-BE"), "security_liaison"
    )
    for user in (personas.partner, personas.partner_other, berlin_police, personas.outsider):
        client = personas.client(user)
        assert (
            client.get(reverse("sharing:contact_disclosure", args=[disclosure.pk])).status_code
            == 404
        )
        assert api(client, "GET", "/api/v1/sop/hotline-disclosures").json() == []
        assert EXCERPT not in client.get(reverse("sharing:hotline_reports")).content.decode()
        assert (
            api(
                client, "GET", f"/api/v1/sop/contacts/{disclosure.contact_id}/disclosures"
            ).status_code
            == 404
        )


def test_decide_and_the_list_filter_agree(personas):
    """Both evaluators of the policy give the same answer for every persona, action and
    status of a hotline disclosure."""
    disclosure = danger(personas)
    people = [
        personas.hotline,
        personas.coordinator,
        personas.police,
        personas.partner,
        personas.dpo,
        personas.outsider,
    ]
    for step in ("open", "pending", "sent", "cancelled"):
        if step == "pending":
            prepare(personas, disclosure)
        elif step == "sent":
            services.contact_disclosure_decide(
                actor=personas.coordinator, disclosure=disclosure, approve=True
            )
        elif step == "cancelled":
            disclosure = danger(personas, caller_postcode="20097")
            services.contact_disclosure_cancel(
                actor=personas.hotline, disclosure=disclosure, reason="erledigt"
            )
        disclosure.refresh_from_db()
        for user in people:
            for action in Action:
                single = bool(decide(user, action, disclosure))
                listed = (
                    visible(user, ContactDisclosure.objects.all(), action)
                    .filter(pk=disclosure.pk)
                    .exists()
                )
                assert single == listed, (step, user.username, action)


@pytest.mark.parametrize(
    ("method", "path", "persona", "expected"), list(matrix_params(HOTLINE_DISCLOSURE_MATRIX))
)
def test_endpoint_answers_persona(personas, method, path, persona, expected):
    sent = danger(personas)
    prepare(personas, sent)
    services.contact_disclosure_decide(actor=personas.coordinator, disclosure=sent, approve=True)
    pending = danger(personas, caller_postcode="20097")
    prepare(personas, pending)
    opened = danger(personas, caller_postcode="22765")
    contact = make_contact(personas, summary="Vertrauliche Notiz der Hotline.")
    second = personas.hotline if persona == "coordinator" else personas.coordinator
    bodies = {
        "/contacts/{contact}/events": {"code": "danger_to_self"},
        "/hotline-disclosures/{open}/prepare": {
            **PREPARED,
            "recipient_id": opened.recipient_id,
            "approver_id": second.pk,
        },
        "/hotline-disclosures/{pending}/decide": {"send": True},
        "/hotline-disclosures/{open}/cancel": {"reason": "erledigt"},
    }
    url = "/api/v1/sop" + path.format(
        contact=contact.pk, sent=sent.pk, pending=pending.pk, open=opened.pk
    )
    response = api(personas.client(getattr(personas, persona)), method, url, bodies.get(path))
    assert response.status_code == expected, response.content[:300]
    assert b"Vertrauliche Notiz" not in response.content
    assert b"Mutter berichtet" not in response.content  # the contacts' summaries stay


def test_an_overdue_must_inform_goes_to_the_hotline_coordinators_once(personas, mailoutbox):
    from casebridge.sharing.tasks import remind_and_escalate

    disclosure = danger(personas, anonymous=False, caller_name="Erika Beispiel")
    done = danger(personas, caller_postcode="20097")
    prepare(personas, done)
    services.contact_disclosure_decide(actor=personas.coordinator, disclosure=done, approve=True)
    ContactDisclosure.objects.update(due_at=timezone.now() - timedelta(minutes=5))
    mailoutbox.clear()
    assert remind_and_escalate.call()["hotline_escalated"] == 1  # the sent one is done
    (message,) = mailoutbox
    assert message.to == [personas.coordinator.email]
    assert disclosure.contact.reference in message.subject and "Beispiel" not in message.body
    assert remind_and_escalate.call()["hotline_escalated"] == 0
    assert AuditEvent.objects.filter(action="sharing.contact_disclosure.escalate").count() == 1


def test_the_register_shows_every_flow_of_the_hotline_without_its_content(personas):
    sent = danger(personas)
    prepare(personas, sent)
    services.contact_disclosure_decide(actor=personas.coordinator, disclosure=sent, approve=True)
    danger(personas, caller_postcode="20097")  # open, nothing prepared: not a flow yet
    dpo = personas.client(personas.dpo)
    page = dpo.get(reverse("sharing:register")).content.decode()
    assert sent.contact.reference in page and sent.recipient.name in page
    assert EXCERPT not in page and IDENTITY not in page and "Gegenwärtige Gefahr" not in page
    rows = api(dpo, "GET", "/api/v1/sop/register/hotline").json()
    assert [row["id"] for row in rows] == [sent.pk]
    assert rows[0]["status"] == "sent" and rows[0]["legal_basis"] == "justifying_emergency"
    assert EXCERPT not in json.dumps(rows)
    assert AuditEvent.objects.filter(action="sharing.register.hotline", actor=personas.dpo).exists()


def test_the_contact_api_takes_the_first_analysis(personas):
    client = personas.client(personas.hotline)
    started = (timezone.now() - timedelta(minutes=10)).isoformat()
    body = {
        "started_at": started,
        "caller_category": "parents_relatives",
        "contact_category": "clarification_needed",
        "caller_postcode": "20095",
        "first_analysis": {"danger_to_self": "yes", "person_named": "unclear"},
    }
    response = api(client, "POST", "/api/v1/hotline/contacts", body)
    assert response.status_code == 201, response.content[:300]
    created = response.json()
    assert created["first_analysis"] == {"danger_to_self": "yes", "person_named": "unclear"}
    rows = api(client, "GET", f"/api/v1/sop/contacts/{created['id']}/disclosures").json()
    assert [row["rule"] for row in rows] == ["hotline-danger-to-self"]
    assert rows[0]["recipient"] == "Sozialpsychiatrischer Dienst Hamburg-Altstadt (fiktiv)"
    bad = api(client, "POST", "/api/v1/hotline/contacts", {**body, "first_analysis": {"x": "yes"}})
    assert bad.status_code == 422 and "first_analysis" in bad.content.decode()
    maybe = {**body, "first_analysis": {"danger_to_self": "maybe"}}
    assert api(client, "POST", "/api/v1/hotline/contacts", maybe).status_code == 422
    # a later "yes" in a patch raises the event then, once
    patch = api(
        client,
        "PATCH",
        f"/api/v1/hotline/contacts/{created['id']}",
        {"first_analysis": {"danger_to_self": "yes", "child_at_risk": "yes"}},
    )
    assert patch.status_code == 200
    rows = api(client, "GET", f"/api/v1/sop/contacts/{created['id']}/disclosures").json()
    assert sorted(row["rule"] for row in rows) == [
        "hotline-child-at-risk",
        "hotline-danger-to-self",
    ]
    assert Contact.objects.count() == 1
