"""Requests for information, both ways (issue 17.2): the police liaison asks the lead and
the lead the police; the one asked answers with a disclosure or refuses with a reason; a
request shows nothing by itself; deadlines remind and escalate; the data protection
officer's register shows requests by direction."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from casebridge.access.policy import Action, decide
from casebridge.audit.models import AuditEvent
from casebridge.sharing import services
from casebridge.sharing.models import Disclosure, InformationRequest
from casebridge.sharing.tasks import remind_and_escalate
from tests.builders import category, make_user, org, term, whole_case_page

pytestmark = pytest.mark.django_db

IN_THREE_DAYS = timezone.localdate() + timedelta(days=3)


def page_form(world, **overrides) -> dict:
    """The page's form ("ask-" prefix): the police ask the lead about counselling."""
    data = {
        "ask-to_participant": world.lead.pk,
        "ask-categories": ["counselling"],
        "ask-question": "Hat sich die Lage seit dem letzten Gespräch verändert?",
        "ask-purpose": "Gefährdungseinschätzung",
        "ask-legal_basis": "danger_prevention_bdsg",
        "ask-due_on": IN_THREE_DAYS.isoformat(),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def police_ask(personas, world, **changes) -> InformationRequest:
    values = {
        "actor": personas.police,
        "case": world.case,
        "to_participant": world.lead,
        "categories": [category("counselling")],
        "question": "Hat sich die Lage verändert?",
        "purpose": "Gefährdungseinschätzung",
        "legal_basis": term("legal_basis", "danger_prevention_bdsg"),
        "due_on": IN_THREE_DAYS,
    }
    values.update(changes)
    return services.information_request_create(**values)


def test_the_police_ask_the_lead_in_the_page_and_both_see_it(personas, world):
    police = personas.client(personas.police)
    response = police.post(reverse("sharing:request_add", args=[world.case.pk]), page_form(world))
    assert response.status_code == 302
    assert response["Location"].endswith("?section=procedure")
    asked = InformationRequest.objects.get()
    assert (asked.from_participant, asked.to_participant) == (world.police, world.lead)
    assert asked.status == "open" and asked.due_at.date() == IN_THREE_DAYS
    event = AuditEvent.objects.get(action="sharing.request.create")
    assert "Lage" not in json.dumps(event.details)  # ids and codes only, no question
    lead_page = whole_case_page(personas.client(personas.partner), world.case.pk)
    assert "Hat sich die Lage seit dem letzten Gespräch verändert?" in lead_page
    assert reverse("sharing:disclose", args=[world.case.pk]) + f"?request={asked.pk}" in lead_page
    assert reverse("sharing:request_refuse", args=[world.case.pk, asked.pk]) in lead_page
    police_page = whole_case_page(police, world.case.pk)
    assert reverse("sharing:request_withdraw", args=[world.case.pk, asked.pk]) in police_page
    assert reverse("sharing:request_refuse", args=[world.case.pk, asked.pk]) not in police_page
    tasks = personas.client(personas.partner).get(reverse("sharing:tasks")).content.decode()
    assert world.case.number in tasks.split('id="requests"')[1].split("</ul>")[0]


def test_a_request_shows_nothing_until_an_answer_is_approved(personas, world):
    asked = police_ask(personas, world)
    assert not decide(personas.police, Action.VIEW, world.counselling)
    assert "Vertrauliche Beratung" not in whole_case_page(
        personas.client(personas.police), world.case.pk
    )
    # The lead answers with an excerpt; a justifying emergency needs a second person.
    disclosure = services.disclosure_request(
        actor=personas.partner,
        case=world.case,
        to_participant=world.police,
        entries=[],
        excerpt="Keine Veränderung seit März.",
        excerpt_category=category("counselling"),
        purpose=asked.purpose,
        legal_basis=term("legal_basis", "justifying_emergency"),
        justification="Gefahr für Leib und Leben.",
        answers=asked,
    )
    asked.refresh_from_db()
    assert disclosure.status == "pending" and asked.status == "open"
    page = whole_case_page(personas.client(personas.partner), world.case.pk)
    assert "answer awaiting approval" in page
    colleague = make_user("colleague", org(personas.partner), "partner_counsellor")
    world.lead.members.add(colleague)
    services.disclosure_decide(actor=colleague, disclosure=disclosure, approve=True)
    asked.refresh_from_db()
    assert asked.status == "answered" and asked.decided_by == colleague
    police_page = whole_case_page(personas.client(personas.police), world.case.pk)
    assert "Keine Veränderung seit März." in police_page
    assert "Vertrauliche Beratung" not in police_page


def test_an_answer_goes_only_from_the_one_asked_to_the_one_that_asked(personas, world):
    asked = police_ask(personas, world)
    with pytest.raises(Exception) as refused:
        services.disclosure_request(
            actor=personas.police,  # the one that asked cannot "answer" its own request
            case=world.case,
            to_participant=world.lead,
            entries=[],
            excerpt="x",
            excerpt_category=category("security"),
            purpose="p",
            legal_basis=term("legal_basis", "danger_prevention_bdsg"),
            justification="j",
            answers=asked,
        )
    assert "answers" in str(refused.value)
    assert not Disclosure.objects.exists()


def test_the_lead_refuses_with_a_reason_and_nothing_else_changes(personas, world):
    asked = police_ask(personas, world)
    lead = personas.client(personas.partner)
    url = reverse("sharing:request_refuse", args=[world.case.pk, asked.pk])
    response = lead.post(url, {"reason": ""}, follow=True)
    assert "Say why you refuse the request." in response.content.decode()
    asked.refresh_from_db()
    assert asked.status == "open"
    # the one that asked cannot refuse its own request (pages hide a denial as 404, the
    # API says 403: tests/sharing/test_api_matrix.py); the attempt is recorded as denied
    denied = personas.client(personas.police).post(url, {"reason": "x"})
    assert denied.status_code == 404
    assert AuditEvent.objects.filter(actor=personas.police, outcome="denied").exists()
    asked.refresh_from_db()
    assert asked.status == "open"
    lead.post(url, {"reason": "Kein Zusammenhang mit einer Gefahr."})
    asked.refresh_from_db()
    assert (asked.status, asked.refusal) == ("refused", "Kein Zusammenhang mit einer Gefahr.")
    again = lead.post(url, {"reason": "noch einmal"}, follow=True)
    assert "This request is no longer open." in again.content.decode()
    assert "Kein Zusammenhang mit einer Gefahr." in whole_case_page(
        personas.client(personas.police), world.case.pk
    )


def test_only_the_one_that_asked_withdraws(personas, world):
    asked = police_ask(personas, world)
    url = reverse("sharing:request_withdraw", args=[world.case.pk, asked.pk])
    assert personas.client(personas.partner).post(url).status_code == 404
    personas.client(personas.police).post(url)
    asked.refresh_from_db()
    assert asked.status == "withdrawn" and asked.decided_by == personas.police


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ask-purpose", "", "This field is required."),
        ("ask-question", "", "This field is required."),
        ("ask-categories", None, "This field is required."),
        ("ask-due_on", "2020-01-01", "Ask for an answer between"),
        ("ask-due_on", "2999-01-01", "Ask for an answer between"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(personas, world, field, value, message):
    response = personas.client(personas.police).post(
        reverse("sharing:request_add", args=[world.case.pk]), page_form(world, **{field: value})
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="form-errors"' in body and message in body
    assert 'aria-current="page">Procedure and disclosures' in body  # the form's own section
    assert not InformationRequest.objects.exists()


def test_one_past_each_limit_is_refused_in_the_api(personas, world):
    client = personas.client(personas.police)
    url = f"/api/v1/sop/cases/{world.case.pk}/requests"
    base = {
        "to_participant_id": world.lead.pk,
        "categories": ["counselling"],
        "question": "Stand?",
        "purpose": "Gefährdungseinschätzung",
        "legal_basis": "danger_prevention_bdsg",
    }
    today = timezone.localdate()
    for due, ok in ((today, False), (today + timedelta(days=1), True)):
        body = {**base, "due_on": due.isoformat()}
        response = client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == (201 if ok else 422), response.content
    body = {**base, "due_on": (today + timedelta(days=91)).isoformat()}
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 422 and "due_on" in response.content.decode()
    for field, value in (
        ("question", "x" * 501),
        ("categories", ["no_such_category"]),
        ("to_participant_id", world.police.pk),  # its own organisation
        ("purpose", "  "),
    ):
        body = {**base, "due_on": (today + timedelta(days=2)).isoformat(), field: value}
        response = client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 422, (field, response.content)
    assert InformationRequest.objects.count() == 1


def test_the_message_is_in_the_users_language(personas, world):
    personas.police.language = "de"
    personas.police.save(update_fields=["language"])
    response = personas.client(personas.police).post(
        reverse("sharing:request_add", args=[world.case.pk]),
        page_form(world, **{"ask-due_on": "2020-01-01"}),
    )
    assert "Bitten Sie um eine Antwort zwischen" in response.content.decode()


def test_a_third_participant_and_outsiders_do_not_see_the_request(personas, world):
    asked = police_ask(personas, world)
    other = personas.client(personas.partner_other)
    assert other.get(reverse("cases:case", args=[world.case.pk])).status_code == 404
    api = other.get(f"/api/v1/sop/cases/{world.case.pk}")
    assert api.status_code == 404
    # The lead sees every request of the case; the police see their own.
    seen = personas.client(personas.police).get(f"/api/v1/sop/cases/{world.case.pk}").json()
    assert [r["id"] for r in seen["requests"]] == [asked.pk]
    assert seen["requests"][0]["question"] == "Hat sich die Lage verändert?"


def test_reminders_and_escalation_name_the_case_only(personas, world, settings):
    asked = police_ask(personas, world, due_on=timezone.localdate() + timedelta(days=1))
    InformationRequest.objects.filter(pk=asked.pk).update(
        due_at=timezone.now() + timedelta(hours=3)
    )
    mail.outbox.clear()
    result = remind_and_escalate.call()
    assert result["requests_reminded"] == 1 and result["requests_escalated"] == 0
    reminder = next(m for m in mail.outbox if "request for information" in m.subject)
    assert world.case.number in reminder.subject
    assert personas.partner.email in reminder.to
    assert "Lage" not in reminder.body and "Gefährdung" not in reminder.body
    InformationRequest.objects.filter(pk=asked.pk).update(
        due_at=timezone.now() - timedelta(hours=1)
    )
    result = remind_and_escalate.call()
    assert result["requests_escalated"] == 1
    assert remind_and_escalate.call()["requests_escalated"] == 0  # once


def test_the_register_shows_requests_by_direction_to_the_dpo_only(personas, world):
    asked = police_ask(personas, world)
    services.information_request_refuse(actor=personas.partner, info_request=asked, reason="Nein.")
    police_ask(personas, world)
    response = personas.client(personas.dpo).get(reverse("sharing:register"))
    body = response.content.decode()
    table = body.split('id="request-directions"')[1].split("</table>")[0]
    assert "<td>2</td><td>0</td><td>1</td><td>1</td><td>0</td>" in table.replace("\n", "")
    assert "Hat sich die Lage" not in body  # never the question
    response = personas.client(personas.dpo).get("/api/v1/sop/register/requests")
    api = response.json()
    assert [d["asked"] for d in api["directions"]] == [2]
    assert api["directions"][0]["from_sector"] and api["directions"][0]["to_sector"]
    # the API keeps the page's promise: no question, no reason for a refusal
    assert "Hat sich die Lage" not in response.content.decode()
    assert "Nein." not in response.content.decode()
    assert {"question", "refusal"}.isdisjoint(api["requests"][0])
    for persona in ("partner", "police", "coordinator"):
        client = personas.client(getattr(personas, persona))
        assert client.get("/api/v1/sop/register/requests").status_code == 404


def test_no_refusal_while_an_answer_awaits_approval(personas, world):
    asked = police_ask(personas, world)
    services.disclosure_request(
        actor=personas.partner,
        case=world.case,
        to_participant=world.police,
        entries=[world.coordination],
        purpose="p",
        legal_basis=term("legal_basis", "justifying_emergency"),
        justification="j",
        answers=asked,
    )
    with pytest.raises(ValidationError) as refused:
        services.information_request_refuse(actor=personas.partner, info_request=asked, reason="r")
    assert "awaits approval" in str(refused.value)
    asked.refresh_from_db()
    assert asked.status == "open"
