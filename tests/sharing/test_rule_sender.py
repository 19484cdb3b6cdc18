"""A rule's sender (who informs) makes that participant's lead worker responsible for the
obligation; a rule without one stays with the case's lead (issue 19, part 5)."""

from __future__ import annotations

from datetime import date

import pytest

from casebridge.access import protocol as protocol_events
from casebridge.cases.models import Participant
from casebridge.sharing.models import Obligation
from tests.builders import make_user, org, organisation_of_type, role

pytestmark = pytest.mark.django_db


@pytest.fixture
def prison_officer(personas, world):
    prison = organisation_of_type("prison")
    officer = make_user("officer", prison, "security_liaison")
    seat = Participant.objects.create(
        case=world.case, organisation=prison, role=role("prison"), added_by=personas.partner
    )
    seat.lead_worker = officer
    seat.save(update_fields=["lead_worker"])
    return officer


def test_the_prison_is_responsible_for_telling_of_the_release(personas, world, prison_officer):
    protocol_events.event_raise(
        actor=personas.partner,
        case=world.case,
        code="release_scheduled",
        event_date=date(2027, 3, 1),
    )
    responsible = {o.rule: o.responsible for o in Obligation.objects.filter(case=world.case)}
    assert responsible["release-lead"] == prison_officer
    assert responsible["release-probation"] == prison_officer


def test_without_the_sender_in_the_case_the_lead_stays_responsible(personas, world):
    # the world's prison seat has ended: nobody of the prison takes part
    protocol_events.event_raise(
        actor=personas.partner,
        case=world.case,
        code="release_scheduled",
        event_date=date(2027, 3, 1),
    )
    lead = Obligation.objects.get(case=world.case, rule="release-lead")
    assert lead.responsible == personas.partner


def test_a_lead_rule_stays_with_the_lead(personas, world, prison_officer):
    protocol_events.event_raise(actor=personas.partner, case=world.case, code="case_closed")
    assert {o.responsible for o in Obligation.objects.filter(case=world.case)} == {personas.partner}


def test_after_a_transfer_the_senders_obligation_stays_with_the_sender(
    personas, world, prison_officer
):
    protocol_events.event_raise(
        actor=personas.partner,
        case=world.case,
        code="release_scheduled",
        event_date=date(2027, 3, 1),
    )
    protocol_events.event_raise(actor=personas.partner, case=world.case, code="case_closed")
    new_lead = make_user("newlead", org(personas.partner), "partner_counsellor")
    protocol_events.obligations_follow_lead(
        actor=personas.partner, case=world.case, responsible=new_lead
    )
    responsible = {
        (o.rule, o.responsible) for o in Obligation.objects.filter(case=world.case, status="open")
    }
    assert ("release-lead", prison_officer) in responsible
    assert ("release-probation", prison_officer) in responsible
    assert {r for rule, r in responsible if rule == "case-closed"} == {new_lead}


def test_the_simulation_says_who_informs_on_the_page_and_in_the_api(
    personas, world, prison_officer
):
    from django.urls import reverse

    client = personas.client(personas.partner)
    body = {"event": "release_scheduled", "event_date": "2027-03-01"}
    api = client.post(
        f"/api/v1/sop/cases/{world.case.pk}/simulate", body, content_type="application/json"
    ).json()
    senders = {o["rule"]: o["sender"] for o in api["outcomes"]}
    assert org(prison_officer).name in senders["release-lead"]
    page = client.get(
        reverse("sharing:simulate", args=[world.case.pk]),
        {"event": "release_scheduled", "event_date": "2027-03-01"},
    ).content.decode()
    assert "Who informs" in page and org(prison_officer).name in page
